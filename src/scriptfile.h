/*
 * scriptfile.h - the checks of a script's file, as the contract states
 * them (docs/api.md, "path"): an absolute, normalized path inside one of
 * the script roots (conf's script_roots), that is its own real path (no
 * symlink on the way), names a regular file, and for a binary an ELF
 * executable for this machine; optionally also that the run user can
 * search every directory above it and read it (shell, python) or
 * execute it (binary).
 *
 * Every failure is reported in `e` with field "path" and a sentence that
 * says what is wrong; nothing is logged but libmagic's own failures.
 * Nothing returned is allocated.
 */
#ifndef SCRIPTORCH_SCRIPTFILE_H
#define SCRIPTORCH_SCRIPTFILE_H

#include <sys/stat.h>

#include <stddef.h>

#include "verr.h"

struct conf;

/*
 * Checks `path` as the file of a script of `type` (shell, python or
 * binary): 0, or -1 with e (may be NULL) saying why not.
 *
 * `magic` is a libmagic cookie (magic_t, borrowed) or NULL. The ELF header
 * is read here whatever libmagic says, so the decision does not hang on
 * its database; with a cookie, libmagic supplies the words for what a
 * non-ELF file is, and tells a PIE from a library (an ET_DYN without an
 * interpreter is refused); without one (the runner's recheck before a
 * run) any ET_DYN passes.
 *
 * `with_run_user` adds the permission checks against conf's run_user,
 * which cost user and group database look-ups: done at registration and
 * update; before a run the exec itself reports a missing permission.
 *
 * `seen` (may be NULL) gets the file's stat when every check up to the
 * run user's passed.
 */
int scriptfile_check(const struct conf *c, void *magic, const char *type,
    const char *path, int with_run_user, struct stat *seen, struct verr *e);

/*
 * What the file at `path` is, for an admin about to register it
 * (POST /api/v1/admin/scripts/inspect, docs/api.md "Inspecting a path"),
 * without registering anything.
 *
 * The checks every type needs (those of scriptfile_check before the
 * type's own: the path's form, the roots, no symlink on the way, a
 * regular file) decide whether the file is looked at at all: -1 with e
 * saying why not, in the words a registration would get. A path outside
 * the roots is refused before anything is looked up on disk. Otherwise
 * the file is opened once (no link followed; the same file as was
 * checked), its first RUN_SHEBANG_HEAD - 1 bytes read for the #! line
 * and libmagic (`magic`, a borrowed magic_t, or NULL) shown the same
 * descriptor; 0 and `out`:
 *   type_guess   scriptfile_guess() of it; NULL when it cannot tell
 *   description  libmagic's description ("" without a cookie, or when
 *                libmagic fails: logged)
 *   executable   whether the run user may execute it (mode bits, as for
 *                a binary; 0 when the run user does not exist)
 *   problems     what a registration as type_guess (as shell when NULL)
 *                would still be refused for (scriptfile_check with the
 *                run user: an ELF for another machine, a mode the run user
 *                cannot use), and for a shell script what would stop its
 *                run (a #! line too long, or naming a relative
 *                interpreter), in the runner's words
 * Nothing of the file's content comes out but libmagic's description.
 * Nothing here is allocated.
 */
#define SCRIPTFILE_MAX_PROBLEMS 2
struct scriptfile_info {
	const char *type_guess;     /* static, or NULL */
	char description[256];
	int executable;
	struct verr problems[SCRIPTFILE_MAX_PROBLEMS];
	int nproblems;
};
int scriptfile_inspect(const struct conf *c, void *magic, const char *path,
    struct scriptfile_info *out, struct verr *e);

/*
 * The type a script's first bytes suggest (pure, for scriptfile_inspect
 * and its tests): `head` holds the first `len` bytes (NUL-terminated,
 * changed in place, as run_shebang_parse reads them), `desc` is
 * libmagic's description or NULL. "binary" for an ELF header; from a #!
 * line, "python" when the program it names (env's first operand for
 * /usr/bin/env) is python, python3, python3.11 ..., else "shell" (a shell
 * script runs through its #! line, whatever the interpreter); without a
 * #! line, what libmagic calls a Python script or a shell script; else
 * NULL. *shebang gets run_shebang_parse's verdict (an enum run_shebang).
 */
const char *scriptfile_guess(char *head, size_t len, const char *desc,
    int *shebang);

/*
 * Whether configured script root `root` can hold scripts that run: a
 * directory that the run user can search, as every directory above it
 * (a checkout under /root, mode 0700, cannot). 0, or -1 with e (field
 * "script_roots") saying what stands in the way.
 */
int scriptfile_root_check(const struct conf *c, const char *root,
    struct verr *e);

#endif
