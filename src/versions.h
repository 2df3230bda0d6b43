/*
 * versions.h - a script's version and a runner's memory of the files it
 * hashed.
 *
 * version = "sha256:" + the hex SHA-256 of the script's file, its
 * normalized requirements and its args template (docs/api.md, "version"),
 * VERSION_LEN bytes with the NUL. The registry (registry.h) decides when
 * a version is computed and records it; this module only computes.
 *
 * Ownership: versions are written into caller-owned buffers; a struct
 * version_memo is caller-owned plain data (zero it to start; nothing in
 * it needs freeing). The struct script passed in is borrowed.
 */
#ifndef SCRIPTORCH_VERSIONS_H
#define SCRIPTORCH_VERSIONS_H

#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>

#include "script.h"
#include "verr.h"

struct conf;

#define VERSION_LEN 80

/*
 * A runner's memory of the script files it hashed: the file's identity,
 * size and change times when it was read, with the script's revision
 * (its args and requirements are hashed too) and the version they gave.
 * A file that shows the same stamp has the same content, so its version
 * is known without reading it again (a big binary costs a read and a
 * SHA-256 of every byte). A file changed within VERSION_SETTLE_S of its
 * hashing is not remembered: two writes within one tick of the kernel's
 * file clock could leave the same times.
 */
#define VERSION_MEMO_SLOTS 16
#define VERSION_SETTLE_S 2
struct version_stamp {
	long long script_id;
	char updated_at[32];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	char version[VERSION_LEN];
};
struct version_memo {
	struct version_stamp v[VERSION_MEMO_SLOTS];
	int next;               /* the slot to replace next */
};

/*
 * The version of `s` (its path, type, requirements and args_json) from
 * its file as it is now: 0, or -1 with e (may be NULL) saying what is
 * wrong (the file cannot be opened or read, is no longer a regular file,
 * or the requirements do not parse). The file is opened without
 * following a symlink and not checked otherwise (scriptfile.h does
 * that). `hashed` (may be NULL) gets the stamp of what was hashed, or
 * zeroes when the file changed while it was read.
 */
int version_compute(const struct script *s, char out[VERSION_LEN],
    struct stat *hashed, struct verr *e);

/*
 * The version of s's file as it is now, for a run: the file is checked
 * first (scriptfile_check without libmagic nor the run user), then its
 * version taken from `vm` (may be NULL) when the file shows the stamp
 * remembered for this script at this revision (s->updated_at), else
 * computed and remembered once settled. 0, or -1 with e saying what is
 * wrong with the file.
 */
int version_of_file(const struct conf *c, const struct script *s,
    struct version_memo *vm, char out[VERSION_LEN], struct verr *e);

#endif
