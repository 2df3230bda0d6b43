/*
 * reqs.h - a python script's requirements, and the key of its venv.
 *
 * reqs_normalize() turns requirements.txt text into the canonical form the
 * venv key hashes, so that texts which mean the same install share a venv:
 *  - a line ending in `\` continues on the next one (as pip does);
 *  - `#` starts a comment at the start of a line or after a space or tab,
 *    and only there (pip's rule): the fragment of
 *    `pkg @ https://host/pkg.whl#sha256=...` is part of the URL;
 *  - blank lines and comments are dropped, whitespace is stripped:
 *    all of it inside a version specifier (`Pillow >= 10` -> `pillow>=10`),
 *    runs of it collapsed to one space in markers, where `and`/`or` need
 *    it (`; python_version < "3.8"`);
 *  - the project name (and the extras) are lower-cased with runs of `-`,
 *    `_` and `.` written `-` (PEP 503), `zope.interface==5` ->
 *    `zope-interface==5`; versions, URLs and markers keep their case;
 *  - a requirement is `name[extras] spec ; marker` or
 *    `name[extras] @ url ; marker`, written back as `name[a,b]spec; marker`
 *    and `name[a,b] @ url ; marker`; --hash=... options stay, in order;
 *  - lines are sorted bytewise, exact duplicates dropped, and joined with
 *    "\n" (no trailing newline; "" when there is nothing to install).
 * Rejected, with the line number: options that change where packages come
 * from or read other files (-i/--index-url, --extra-index-url,
 * -f/--find-links, --no-index, --trusted-host, -e/--editable,
 * -r/--requirement, -c/--constraint) - installer options come only from
 * the daemon's config; any other option but --pre, --prefer-binary,
 * --only-binary, --no-binary and --require-hashes (and --hash on a
 * requirement); `${VAR}` (pip would expand the daemon's environment);
 * lines that do not start with a project name (bare paths and URLs: write
 * `name @ url`).
 */
#ifndef SCRIPTORCH_REQS_H
#define SCRIPTORCH_REQS_H

#include "buf.h"
#include "verr.h"

/*
 * Appends the canonical form of `text` (borrowed, NUL-terminated; NULL is
 * "") to `out`. Returns 0, or -1 with `e` filled (field "requirements")
 * and `out` unchanged.
 */
int reqs_normalize(const char *text, struct buf *out, struct verr *e);

/*
 * What the server allows builds to fetch, on `normalized` (from
 * reqs_normalize()): without allow_direct_urls a requirement that names a
 * URL or a file (`name @ url`) is refused; without allow_sdist, a
 * `--no-binary` line, and (when URLs are allowed) a URL that does not name
 * a wheel, are refused, since they would be built from source. Returns 0,
 * or -1 with `e` filled (field "requirements", the message naming the
 * config key that allows it).
 */
int reqs_check_sources(const char *normalized, int allow_direct_urls,
    int allow_sdist, struct verr *e);

/*
 * Appends the canonical installer options string that reqs_venv_key()
 * takes: "index-url=...\nfind-links=...\nno-index=0|1" (NULL is "").
 */
void reqs_installer_opts(const char *index_url, const char *find_links,
    int no_index, struct buf *out);

/*
 * Writes to hex_out the lower-case hex SHA-256 (64 chars and a NUL) of a
 * versioned, length-prefixed encoding of the three strings (NULL is ""),
 * so that no two different triples can hash the same bytes.
 * `normalized` must come from reqs_normalize(), `python_version` is the
 * interpreter's exact version ("3.11.2"), `installer_opts` comes from
 * reqs_installer_opts().
 */
void reqs_venv_key(const char *normalized, const char *python_version,
    const char *installer_opts, char hex_out[65]);

#endif
