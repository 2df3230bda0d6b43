#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "log.h"
#include "reqs.h"

#define FIELD "requirements"

/* Options that would change where pip looks for packages, or what else it
 * reads: refused, since those come only from the daemon's config. */
static const struct {
	const char *opt;
	const char *why;
} forbidden[] = {
	{ "-i", "the package index comes only from the daemon's configuration "
	    "(pip_index_url)" },
	{ "--index-url", "the package index comes only from the daemon's "
	    "configuration (pip_index_url)" },
	{ "--extra-index-url", "package indexes come only from the daemon's "
	    "configuration (pip_index_url)" },
	{ "-f", "find-links come only from the daemon's configuration "
	    "(pip_find_links)" },
	{ "--find-links", "find-links come only from the daemon's "
	    "configuration (pip_find_links)" },
	{ "--no-index", "no-index comes only from the daemon's configuration "
	    "(pip_no_index)" },
	{ "--trusted-host", "package sources come only from the daemon's "
	    "configuration" },
	{ "-e", "editable installs are not supported" },
	{ "--editable", "editable installs are not supported" },
	{ "-r", "requirements must be listed here, not included from another "
	    "file" },
	{ "--requirement", "requirements must be listed here, not included "
	    "from another file" },
	{ "-c", "constraints files are not supported" },
	{ "--constraint", "constraints files are not supported" },
};

/* Global options that change how, not where from, packages are chosen. */
static const char *const allowed[] = {
	"--pre", "--prefer-binary", "--only-binary", "--no-binary",
	"--require-hashes",
};

static int
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

static int
is_name_char(char c)
{
	return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

/* PEP 503: lower-case, each run of -, _ and . becomes one -. */
/* 1 if [s, end) starts with a URI scheme and its ':'. */
static int
has_scheme(const char *s, const char *end)
{
	if (s >= end || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
		return 0;
	for (s++; s < end && (is_alnum(*s) || *s == '+' || *s == '-' ||
	    *s == '.'); s++)
		;
	return s < end && *s == ':';
}

static void
add_normalized_name(struct buf *out, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-' || c == '_' || c == '.') {
			while (i + 1 < len && (s[i + 1] == '-' ||
			    s[i + 1] == '_' || s[i + 1] == '.'))
				i++;
			buf_addc(out, '-');
		} else if (c >= 'A' && c <= 'Z') {
			buf_addc(out, (char)(c - 'A' + 'a'));
		} else {
			buf_addc(out, c);
		}
	}
}

/* A PEP 508 name: alphanumerics at both ends, name characters between. */
static int
valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_name_char(s[i]))
			return 0;
	return 1;
}

/* Appends s[0..len) trimmed, with whitespace runs outside quotes made one
 * space. */
static void
add_collapsed(struct buf *out, const char *s, size_t len)
{
	char quote = 0;
	int pending = 0, wrote = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (quote == 0 && is_ws(c)) {
			pending = 1;
			continue;
		}
		if (pending && wrote)
			buf_addc(out, ' ');
		pending = 0;
		wrote = 1;
		if (quote == 0 && (c == '"' || c == '\''))
			quote = c;
		else if (c == quote)
			quote = 0;
		buf_addc(out, c);
	}
}

static int
option_line(const char *s, size_t ln, struct buf *out, struct verr *e)
{
	size_t n, i;

	if (s[1] == '-')
		n = strcspn(s, "= \t\r\f\v");
	else
		n = 2;
	for (i = 0; i < sizeof(forbidden) / sizeof(forbidden[0]); i++)
		if (strlen(forbidden[i].opt) == n &&
		    memcmp(s, forbidden[i].opt, n) == 0) {
			verr_set(e, FIELD, "requirements line %zu: %s is not "
			    "allowed: %s", ln, forbidden[i].opt,
			    forbidden[i].why);
			return -1;
		}
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (strlen(allowed[i]) == n && memcmp(s, allowed[i], n) == 0)
			break;
	if (i == sizeof(allowed) / sizeof(allowed[0])) {
		verr_set(e, FIELD, "requirements line %zu: option %.*s is not "
		    "supported", ln, (int)(n > 64 ? 64 : n), s);
		return -1;
	}
	add_collapsed(out, s, strlen(s));
	return 0;
}

static int
extras(const char *s, size_t len, size_t ln, struct buf *out, struct verr *e)
{
	size_t i = 0, a, b, n = 0;

	/* "[ ]" is no extras at all. */
	for (a = 0; a < len && is_ws(s[a]); a++)
		;
	if (a == len)
		return 0;
	buf_addc(out, '[');
	while (i <= len) {
		for (a = i; a < len && s[a] != ','; a++)
			;
		b = a;	/* one element: s[i..b) */
		while (i < b && is_ws(s[i]))
			i++;
		while (b > i && is_ws(s[b - 1]))
			b--;
		if (!valid_name(s + i, b - i)) {
			verr_set(e, FIELD, "requirements line %zu: \"%.*s\" is "
			    "not a valid extra name", ln, (int)(b - i), s + i);
			return -1;
		}
		if (n++ > 0)
			buf_addc(out, ',');
		add_normalized_name(out, s + i, b - i);
		i = a + 1;
	}
	buf_addc(out, ']');
	return 0;
}

/* The --hash options after a requirement, written back as --hash=V. */
static int
req_options(const char *s, size_t ln, struct buf *out, struct verr *e)
{
	const char *p = s, *t;
	size_t n;

	for (;;) {
		while (is_ws(*p))
			p++;
		if (*p == '\0')
			return 0;
		for (t = p; *t != '\0' && !is_ws(*t); t++)
			;
		n = (size_t)(t - p);
		if (n > 7 && memcmp(p, "--hash=", 7) == 0) {
			buf_adds(out, " --hash=");
			buf_add(out, p + 7, n - 7);
			p = t;
			continue;
		}
		if (n == 6 && memcmp(p, "--hash", 6) == 0) {
			for (p = t; is_ws(*p); p++)
				;
			for (t = p; *t != '\0' && !is_ws(*t); t++)
				;
			if (t == p)
				break;
			buf_adds(out, " --hash=");
			buf_add(out, p, (size_t)(t - p));
			p = t;
			continue;
		}
		verr_set(e, FIELD, "requirements line %zu: option %.*s is not "
		    "allowed on a requirement (only --hash is)", ln,
		    (int)(n > 64 ? 64 : n), p);
		return -1;
	}
	verr_set(e, FIELD, "requirements line %zu: --hash needs a value", ln);
	return -1;
}

static int
requirement(const char *s, size_t ln, struct buf *out, struct verr *e)
{
	const char *q = s, *end, *semi, *url, *r, *opts;
	size_t i;

	if (!is_alnum(*q)) {
		verr_set(e, FIELD, "requirements line %zu does not start with "
		    "a project name (for a URL or a file write name @ url)",
		    ln);
		return -1;
	}
	while (is_name_char(*q))
		q++;
	if (!valid_name(s, (size_t)(q - s))) {
		verr_set(e, FIELD, "requirements line %zu: \"%.*s\" is not a "
		    "valid project name", ln, (int)(q - s), s);
		return -1;
	}
	if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
		verr_set(e, FIELD, "requirements line %zu is a bare URL: write "
		    "name @ url", ln);
		return -1;
	}
	add_normalized_name(out, s, (size_t)(q - s));
	while (is_ws(*q))
		q++;
	if (*q == '[') {
		if ((end = strchr(q, ']')) == NULL) {
			verr_set(e, FIELD, "requirements line %zu: [ without ]",
			    ln);
			return -1;
		}
		if (extras(q + 1, (size_t)(end - q - 1), ln, out, e) == -1)
			return -1;
		for (q = end + 1; is_ws(*q); q++)
			;
	}
	/* Options start at the first word that begins with -, as pip's own
	 * split of a requirement line does. */
	for (opts = q; *opts != '\0'; opts++)
		if (*opts == '-' && opts > q && is_ws(opts[-1]))
			break;
	for (end = opts; end > q && is_ws(end[-1]); end--)
		;
	if (*q == '@') {
		for (url = q + 1; url < end && is_ws(*url); url++)
			;
		for (r = url; r < end && !is_ws(*r); r++)
			;
		/* PEP 508 wants a URI there, so a scheme first (RFC 3986:
		 * a letter, then letters, digits, +, - or ., then ':'). That
		 * also keeps the normal form stable: after the space it puts
		 * before the URL, a word starting with - would read as an
		 * option and one starting with # as a comment. */
		if (r == url || !has_scheme(url, r)) {
			verr_set(e, FIELD, "requirements line %zu: @ must be "
			    "followed by a URL", ln);
			return -1;
		}
		buf_adds(out, " @ ");
		buf_add(out, url, (size_t)(r - url));
		while (r < end && is_ws(*r))
			r++;
		if (r < end && *r != ';') {
			verr_set(e, FIELD, "requirements line %zu: unexpected "
			    "text after the URL (a marker starts with \" ; \")",
			    ln);
			return -1;
		}
		semi = r < end ? r : NULL;
		if (semi != NULL)
			buf_adds(out, " ;");
	} else {
		semi = memchr(q, ';', (size_t)(end - q));
		r = semi != NULL ? semi : end;
		for (i = 0; q + i < r && is_ws(q[i]); i++)
			;
		if (q + i < r && strchr("<>=!~(", q[i]) == NULL) {
			verr_set(e, FIELD, "requirements line %zu: expected a "
			    "version specifier such as ==1.0 or >=2 after the "
			    "name", ln);
			return -1;
		}
		/* Whitespace never means anything in a specifier. */
		for (; q + i < r; i++) {
			char c = q[i];

			if (is_ws(c))
				continue;
			if (!is_alnum(c) && strchr("<>=!~.*+,()_-", c) == NULL) {
				verr_set(e, FIELD, "requirements line %zu: "
				    "unexpected '%c' in the version specifier",
				    ln, c);
				return -1;
			}
			buf_addc(out, c);
		}
		if (semi != NULL)
			buf_addc(out, ';');
	}
	if (semi != NULL) {
		size_t before = out->len;
		const char *m = semi + 1;

		/* The normal form puts a space after ';', and after a space
		 * a word that starts with - is an option and one that starts
		 * with # a comment: no marker (PEP 508) starts with either,
		 * so refuse them here rather than have the normal form read
		 * differently. */
		while (m < end && is_ws(*m))
			m++;
		if (m < end && (*m == '-' || *m == '#')) {
			verr_set(e, FIELD, "requirements line %zu: a marker "
			    "cannot start with '%c'", ln, *m);
			return -1;
		}
		buf_addc(out, ' ');
		add_collapsed(out, semi + 1, (size_t)(end - semi - 1));
		/* add_collapsed trims; an empty marker adds nothing. */
		if (out->len == before + 1) {
			verr_set(e, FIELD, "requirements line %zu: empty marker "
			    "after ;", ln);
			return -1;
		}
	}
	return req_options(opts, ln, out, e);
}

/*
 * Normalizes one logical line into `out` (left empty for a blank or
 * comment-only line).
 */
static int
one_line(const char *line, size_t len, size_t ln, struct buf *out,
    struct verr *e)
{
	struct buf s = BUF_INIT;
	size_t i, a = 0, b;
	int rc = -1;

	/* pip: "#" starts a comment at the line's start or after blanks. */
	for (i = 0; i < len; i++)
		if (line[i] == '#' && (i == 0 || is_ws(line[i - 1])))
			break;
	b = i;
	while (a < b && is_ws(line[a]))
		a++;
	while (b > a && is_ws(line[b - 1]))
		b--;
	if (a == b)
		return 0;
	buf_add(&s, line + a, b - a);
	if (memchr(s.data, '\0', s.len) != NULL) {
		verr_set(e, FIELD, "requirements line %zu contains a NUL byte",
		    ln);
		goto out;
	}
	/* Only "\\\n" leaves one here (pip joins the lines and keeps a
	 * backslash): written back it would join the next line on. */
	if (s.data[s.len - 1] == '\\') {
		verr_set(e, FIELD, "requirements line %zu ends with a "
		    "backslash", ln);
		goto out;
	}
	if (strstr(s.data, "${") != NULL) {
		verr_set(e, FIELD, "requirements line %zu uses ${...}: "
		    "environment variables are not expanded", ln);
		goto out;
	}
	if (s.data[0] == '-')
		rc = option_line(s.data, ln, out, e);
	else
		rc = requirement(s.data, ln, out, e);
out:
	buf_free(&s);
	return rc;
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
reqs_normalize(const char *text, struct buf *out, struct verr *e)
{
	struct buf logical = BUF_INIT, norm = BUF_INIT;
	char **lines = NULL, **nv;
	size_t n = 0, cap = 0, ln = 0, first = 0, len, i, a;
	const char *p = text != NULL ? text : "", *nl;
	int cont = 0, comment, rc = -1;

	for (;;) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		ln++;
		if (!cont) {
			buf_reset(&logical);
			first = ln;
		}
		if (len > 0 && p[len - 1] == '\r')
			len--;
		for (a = 0; a < len && is_ws(p[a]); a++)
			;
		comment = a < len && p[a] == '#';
		if (len > 0 && p[len - 1] == '\\' && !comment) {
			/* pip joins the next line on, without a space. */
			buf_add(&logical, p, len - 1);
			cont = 1;
		} else {
			/* A comment line ends a continuation (pip puts a
			 * space in front so that it still reads as one). */
			if (cont && comment)
				buf_addc(&logical, ' ');
			buf_add(&logical, p, len);
			cont = 0;
		}
		if (!cont || nl == NULL) {	/* a `\` on the last line ends it */
			cont = 0;
			buf_reset(&norm);
			if (one_line(buf_str(&logical), logical.len, first,
			    &norm, e) == -1)
				goto out;
			if (norm.len > 0) {
				if (n == cap) {
					cap = cap ? cap * 2 : 16;
					nv = reallocarray(lines, cap,
					    sizeof(*lines));
					if (nv == NULL)
						fatal("reallocarray %zu lines",
						    cap);
					lines = nv;
				}
				lines[n++] = buf_detach(&norm, NULL);
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (n > 1)
		qsort(lines, n, sizeof(*lines), str_cmp);
	for (i = 0, a = 0; i < n; i++) {
		if (i > 0 && strcmp(lines[i], lines[i - 1]) == 0)
			continue;
		if (a++ > 0)
			buf_addc(out, '\n');
		buf_adds(out, lines[i]);
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	buf_free(&logical);
	buf_free(&norm);
	return rc;
}

/* 1 if the URL [u, end) names a wheel: its path ends in ".whl". */
static int
url_is_wheel(const char *u, const char *end)
{
	const char *q;

	for (q = u; q < end && *q != '#' && *q != '?'; q++)
		;
	return q - u >= 4 && strncasecmp(q - 4, ".whl", 4) == 0;
}

int
reqs_check_sources(const char *normalized, int allow_direct_urls,
    int allow_sdist, struct verr *e)
{
	const char *p = normalized != NULL ? normalized : "", *nl, *at, *u;
	size_t len;

	for (; *p != '\0'; p = nl != NULL ? nl + 1 : p + len) {
		nl = strchr(p, '\n');
		len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (p[0] == '-') {
			if (!allow_sdist && len >= 11 &&
			    strncmp(p, "--no-binary", 11) == 0) {
				verr_set(e, FIELD, "--no-binary asks for builds "
				    "from source distributions, which this server "
				    "does not allow: set allow_sdist = yes in "
				    "[python] of scriptorch.conf to allow them");
				return -1;
			}
			continue;
		}
		/* The normal form writes a direct reference "name @ url". */
		at = memmem(p, len, " @ ", 3);
		if (at == NULL)
			continue;
		if (!allow_direct_urls) {
			verr_set(e, FIELD, "requirement \"%.*s\" names a URL or "
			    "a local path, which this server does not allow: set "
			    "allow_direct_urls = yes in [python] of "
			    "scriptorch.conf to allow them",
			    (int)(len > 200 ? 200 : len), p);
			return -1;
		}
		u = at + 3;
		if (!allow_sdist &&
		    !url_is_wheel(u, u + strcspn(u, " ;\n"))) {
			verr_set(e, FIELD, "requirement \"%.*s\" names something "
			    "other than a wheel, which would be built from "
			    "source, and this server does not allow that: set "
			    "allow_sdist = yes in [python] of scriptorch.conf to "
			    "allow it", (int)(len > 200 ? 200 : len), p);
			return -1;
		}
	}
	return 0;
}

void
reqs_installer_opts(const char *index_url, const char *find_links,
    int no_index, struct buf *out)
{
	buf_printf(out, "index-url=%s\nfind-links=%s\nno-index=%d",
	    index_url != NULL ? index_url : "",
	    find_links != NULL ? find_links : "", no_index ? 1 : 0);
}

static void
add_field(struct buf *b, const char *label, const char *s)
{
	if (s == NULL)
		s = "";
	/* Length first: no text in one field can pose as the next one. */
	buf_printf(b, "%s %zu\n", label, strlen(s));
	buf_adds(b, s);
	buf_addc(b, '\n');
}

void
reqs_venv_key(const char *normalized, const char *python_version,
    const char *installer_opts, char hex_out[65])
{
	unsigned char hash[crypto_hash_sha256_BYTES];
	struct buf b = BUF_INIT;

	buf_adds(&b, "scriptorch-venv-key-v1\n");
	add_field(&b, "requirements", normalized);
	add_field(&b, "python", python_version);
	add_field(&b, "installer", installer_opts);
	crypto_hash_sha256(hash, (const unsigned char *)b.data, b.len);
	sodium_bin2hex(hex_out, 65, hash, sizeof(hash));
	buf_free(&b);
}
