#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_read_fd(int fd, size_t max, struct buf *out, int *truncated)
{
	char tmp[65536];
	size_t got = 0;
	ssize_t n;

	if (truncated != NULL)
		*truncated = 0;
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		if (got + (size_t)n > max) {
			buf_add(out, tmp, max - got);
			got = max;
			if (truncated != NULL)
				*truncated = 1;
			break;
		}
		buf_add(out, tmp, (size_t)n);
		got += (size_t)n;
	}
	if (out->data == NULL)
		buf_adds(out, "");
	return 0;
}

int
fs_read_file(const char *path, size_t max, struct buf *out, char *err,
    size_t errlen)
{
	int fd, trunc, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	rc = fs_read_fd(fd, max, out, &trunc);
	if (rc == -1)
		snprintf(err, errlen, "cannot read \"%s\": %s", path,
		    strerror(errno));
	else if (trunc) {
		snprintf(err, errlen, "\"%s\" is larger than %zu bytes", path,
		    max);
		rc = -1;
	}
	close(fd);
	return rc;
}

int
fs_mkdirs(const char *path, unsigned int mode, char *err, size_t errlen)
{
	char tmp[4096];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(tmp)) {
		snprintf(err, errlen, "bad directory path \"%s\"", path);
		return -1;
	}
	memcpy(tmp, path, len + 1);
	for (char *p = tmp + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(tmp, (mode_t)mode) == -1 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create \"%s\": %s",
				    tmp, strerror(errno));
				return -1;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	return 0;
}

int
fs_path_normal(const char *path, enum fs_path_kind kind)
{
	const char *seg = path;
	size_t n;

	if ((path[0] == '/') != (kind == FS_PATH_ABSOLUTE))
		return 0;
	if (kind == FS_PATH_ABSOLUTE)
		seg++;
	for (;;) {
		n = strcspn(seg, "/");
		if (n == 0 || (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (seg[n] == '\0')
			return 1;
		seg += n + 1;
	}
}
