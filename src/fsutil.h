/*
 * fsutil.h - small file helpers, and the one rule for a path's form.
 */
#ifndef SCRIPTORCH_FSUTIL_H
#define SCRIPTORCH_FSUTIL_H

#include <stddef.h>

#include "buf.h"

/* Appends the content of `path` to out, refusing files over `max` bytes.
 * 0 or -1 with a message in err. */
int fs_read_file(const char *path, size_t max, struct buf *out, char *err,
    size_t errlen);
/* Reads up to `max` bytes of an open descriptor; sets *truncated when the
 * file had more. 0 or -1 (errno set). */
int fs_read_fd(int fd, size_t max, struct buf *out, int *truncated);
/* mkdir -p with `mode` for the directories it creates. 0 or -1 + err. */
int fs_mkdirs(const char *path, unsigned int mode, char *err, size_t errlen);

enum fs_path_kind { FS_PATH_RELATIVE, FS_PATH_ABSOLUTE };
/*
 * 1 if `path` is in normal form, else 0: segments joined by single "/",
 * none of them empty, "." or "..", so no "//" and no trailing "/".
 * FS_PATH_ABSOLUTE: it starts with "/" ("/" alone is refused: its one
 * segment is empty). FS_PATH_RELATIVE: it does not ("" is refused).
 * Pure: looks at the text only, never at the file system. Both a script's
 * path (scriptfile.c) and a script's outputs.file (scriptfields.c) follow
 * it; each caller says what is wrong in its own words.
 */
int fs_path_normal(const char *path, enum fs_path_kind kind);
/*
 * Removes the entry `name` of the directory open at `dfd` and, if it is a
 * directory, everything below it: the one recursive delete of the tree
 * (work dirs, venvs, build stages). Never follows a symbolic link (a link
 * is removed, not its target), reaches entries only through descriptors
 * of directories it opened, gives back the permission a directory's owner
 * took away, reads a directory again when entries appear while it is
 * emptied, and keeps at most a bounded number of directories open however
 * deep the tree is. What can be removed is removed. 0 (also when nothing
 * was there), or -1 with errno of the first failure and, when `errs` is
 * not NULL, each failure appended to it ("\"name\": reason; ").
 */
int fs_remove_at(int dfd, const char *name, struct buf *errs);
/* fs_remove_at() of the last component of `path` in its parent. */
int fs_remove_path(const char *path, struct buf *errs);

#endif
