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
 * Whether configured script root `root` can hold scripts that run: a
 * directory that the run user can search, as every directory above it
 * (a checkout under /root, mode 0700, cannot). 0, or -1 with e (field
 * "script_roots") saying what stands in the way.
 */
int scriptfile_root_check(const struct conf *c, const char *root,
    struct verr *e);

#endif
