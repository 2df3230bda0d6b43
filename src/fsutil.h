/*
 * fsutil.h - small file helpers.
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

#endif
