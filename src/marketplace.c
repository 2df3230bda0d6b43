/*
 * marketplace.c - the marketplace service (marketplace.h): the items of
 * marketplace_dir with what was installed from them, and the install of
 * one: copy, register, record.
 *
 * An install copies before it registers, because the registry checks the
 * file at the script's path (it must exist, inside a root, reachable by
 * the run user). The copy goes into a fresh hidden directory first and is
 * renamed into place whole, so that no reader, and no second install
 * racing this one, ever sees half an item; rename() refuses a directory
 * that is there already (left by a script deleted since, or a concurrent
 * install of the same name), and the next name is tried: nothing that is
 * there is ever replaced or deleted. A failed registration removes the
 * copy it made, and only that.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "fsutil.h"
#include "json.h"
#include "log.h"
#include "marketplace.h"
#include "names.h"
#include "registry.h"
#include "run.h"

/* Bounds of one item's copy: it comes from the package, but a config may
 * point marketplace_dir anywhere. */
#define COPY_MAX_FILES 1000
#define COPY_MAX_BYTES (1024LL << 20)
#define COPY_MAX_DEPTH 8
/* <name>, <name>-2, ... <name>-COPY_MAX_NAMES. */
#define COPY_MAX_NAMES 100

/* ---- listing --------------------------------------------------------- */

/* The installs read once for a list, with copies of their strings. */
struct installs {
	struct market_install *v;
	size_t n, cap;
};

static void
installs_add(void *arg, const struct market_install *mi)
{
	struct installs *in = arg;
	struct market_install *d;

	if (in->n == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 16;
		struct market_install *v = realloc(in->v, cap * sizeof(*v));
		if (v == NULL)
			fatal("realloc");
		in->v = v;
		in->cap = cap;
	}
	d = &in->v[in->n++];
	*d = *mi;
	d->item = xstrdup(mi->item);
	d->script_name = xstrdup(mi->script_name);
	d->script_version = xstrdup(mi->script_version);
	d->item_version = xstrdup(mi->item_version);
}

static void
installs_free(struct installs *in)
{
	for (size_t i = 0; i < in->n; i++) {
		free((char *)in->v[i].item);
		free((char *)in->v[i].script_name);
		free((char *)in->v[i].script_version);
		free((char *)in->v[i].item_version);
	}
	free(in->v);
	memset(in, 0, sizeof(*in));
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the directories of `dir` that could be items, sorted:
 * *n of them in a new array of new strings (the caller frees each and
 * the array); a directory that cannot be opened has none. */
static char **
item_names(const char *dir, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	struct dirent *de;
	DIR *d;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		if (errno != ENOENT)
			log_warn("marketplace_dir \"%s\"", dir);
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (names_check_script(de->d_name, NULL) == -1)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((v = realloc(v, cap * sizeof(*v))) == NULL)
				fatal("realloc");
		}
		v[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), cmp_names);
	return v;
}

enum market_status
marketplace_list(struct db *db, const struct conf *c,
    void (*fn)(void *arg, const struct market_item *it,
    const struct market_install *inst, size_t ninst, const char *missing),
    void *arg)
{
	struct installs in = { NULL, 0, 0 };
	struct buf missing = BUF_INIT;
	struct market_item it;
	struct verr e;
	size_t n, k = 0;
	char **names;
	int gone;

	if (store_market_installs(db, installs_add, &in) == -1) {
		installs_free(&in);
		return MKT_DB;
	}
	names = item_names(c->marketplace_dir, &n);
	for (size_t i = 0; i < n; i++) {
		if (market_item_load(c->marketplace_dir, names[i], &it, &gone,
		    &e) == -1) {
			if (!gone)
				log_warnx("marketplace item \"%s/%s\" left "
				    "out: %s", c->marketplace_dir, names[i],
				    e.message);
			free(names[i]);
			continue;
		}
		/* The installs are ordered by item, like the names. */
		while (k < in.n && strcmp(in.v[k].item, it.name) < 0)
			k++;
		size_t first = k;
		while (k < in.n && strcmp(in.v[k].item, it.name) == 0)
			k++;
		buf_reset(&missing);
		market_item_tools_missing(&it, RUN_FIXED_PATH, &missing);
		fn(arg, &it, in.v + first, k - first, buf_str(&missing));
		market_item_free(&it);
		free(names[i]);
	}
	free(names);
	buf_free(&missing);
	installs_free(&in);
	return MKT_OK;
}

/* ---- the copy -------------------------------------------------------- */

struct copy {
	int files;
	long long bytes;
	struct buf where;          /* the entry being copied, for messages */
	struct verr *e;
};

static int
copy_fail(struct copy *cp, const char *what, int err)
{
	verr_set(cp->e, "", "cannot copy the item's \"%s\": %s: %s",
	    buf_str(&cp->where), what, strerror(err));
	return -1;
}

/* Copies the regular file `name` of directory sfd into directory dfd:
 * mode 0755 when it is executable for its owner, else 0644. */
static int
copy_file(int sfd, int dfd, const char *name, const struct stat *st,
    struct copy *cp)
{
	char chunk[65536];
	int in = -1, out = -1, rc = -1;
	ssize_t n;

	if (++cp->files > COPY_MAX_FILES ||
	    (cp->bytes += st->st_size) > COPY_MAX_BYTES) {
		verr_set(cp->e, "", "the item holds more than %d files or %lld "
		    "MiB: not copied", COPY_MAX_FILES, COPY_MAX_BYTES >> 20);
		return -1;
	}
	if ((in = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1) {
		copy_fail(cp, "open", errno);
		goto out;
	}
	if ((out = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		copy_fail(cp, "create", errno);
		goto out;
	}
	for (;;) {
		n = read(in, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			copy_fail(cp, "read", errno);
			goto out;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, chunk + off, (size_t)(n - off));
			if (w == -1 && errno == EINTR)
				continue;
			if (w == -1) {
				copy_fail(cp, "write", errno);
				goto out;
			}
			off += w;
		}
	}
	if (fchmod(out, (st->st_mode & S_IXUSR) ? 0755 : 0644) == -1) {
		copy_fail(cp, "chmod", errno);
		goto out;
	}
	rc = 0;
out:
	if (in != -1)
		close(in);
	if (out != -1 && close(out) == -1 && rc == 0)
		rc = copy_fail(cp, "close", errno);
	return rc;
}

/* Copies every entry of directory sfd into directory dfd: directories
 * (0755) and regular files; anything else (a symbolic link, a device) is
 * refused rather than followed or skipped. */
static int
copy_dir(int sfd, int dfd, int depth, struct copy *cp)
{
	size_t len = cp->where.len;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, rc = -1;

	if ((fd = dup(sfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return copy_fail(cp, "open", errno);
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		const char *name = de->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		cp->where.len = len;
		buf_printf(&cp->where, "%s%s", len > 0 ? "/" : "", name);
		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			copy_fail(cp, "stat", errno);
			goto out;
		}
		if (S_ISREG(st.st_mode)) {
			if (copy_file(sfd, dfd, name, &st, cp) == -1)
				goto out;
		} else if (S_ISDIR(st.st_mode)) {
			int s2 = -1, d2 = -1, r2;

			if (depth >= COPY_MAX_DEPTH) {
				verr_set(cp->e, "", "the item nests deeper "
				    "than %d directories: not copied",
				    COPY_MAX_DEPTH);
				goto out;
			}
			if (mkdirat(dfd, name, 0700) == -1) {
				copy_fail(cp, "mkdir", errno);
				goto out;
			}
			if ((s2 = openat(sfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC)) == -1 ||
			    (d2 = openat(dfd, name, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC)) == -1) {
				copy_fail(cp, "open", errno);
				r2 = -1;
			} else if ((r2 = copy_dir(s2, d2, depth + 1, cp)) ==
			    0 && fchmod(d2, 0755) == -1) {
				r2 = copy_fail(cp, "chmod", errno);
			}
			if (s2 != -1)
				close(s2);
			if (d2 != -1)
				close(d2);
			if (r2 == -1)
				goto out;
		} else {
			verr_set(cp->e, "", "the item's \"%s\" is not a "
			    "regular file or a directory (a symbolic link?): "
			    "not copied", buf_str(&cp->where));
			goto out;
		}
	}
	if (errno != 0) {
		copy_fail(cp, "read the directory", errno);
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	cp->where.len = len;
	if (cp->where.data != NULL)
		cp->where.data[len] = '\0';
	return rc;
}

/*
 * Copies the item's directory to <first root>/marketplace/<script> (or
 * <script>-2, ...): `final` gets the directory it is in. MKT_OK, or
 * MKT_FILES with e saying what failed.
 */
static enum market_status
place_copy(const struct conf *c, const struct market_item *it,
    const char *script, struct buf *final, struct verr *e)
{
	struct buf base = BUF_INIT, tmp = BUF_INIT;
	struct copy cp = { 0, 0, BUF_INIT, e };
	enum market_status rs = MKT_FILES;
	int sfd = -1, dfd = -1, made = 0, placed = 0;

	buf_printf(&base, "%s/" MARKET_INSTALL_SUBDIR, c->script_roots[0]);
	/* Made 0755 whatever the daemon's umask: the run users go through
	 * it to every install. */
	if (mkdir(buf_str(&base), 0700) == 0) {
		if (chmod(buf_str(&base), 0755) == -1) {
			verr_set(e, "", "cannot chmod \"%s\": %s",
			    buf_str(&base), strerror(errno));
			goto out;
		}
	} else if (errno != EEXIST) {
		if (errno == ENOENT)
			verr_set(e, "", "the first script root, \"%s\", does "
			    "not exist: the marketplace installs there",
			    c->script_roots[0]);
		else
			verr_set(e, "", "cannot create \"%s\": %s%s",
			    buf_str(&base), strerror(errno), errno == EROFS ?
			    " (under systemd, the unit's ReadWritePaths= "
			    "must name it)" : "");
		goto out;
	}
	buf_printf(&tmp, "%s/.install-XXXXXX", buf_str(&base));
	if (mkdtemp(tmp.data) == NULL) {
		verr_set(e, "", "cannot create a directory in \"%s\": %s%s",
		    buf_str(&base), strerror(errno), errno == EROFS ?
		    " (under systemd, the unit's ReadWritePaths= must name "
		    "it)" : "");
		goto out;
	}
	made = 1;
	if ((sfd = open(it->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (dfd = open(tmp.data, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		verr_set(e, "", "cannot open \"%s\": %s", sfd == -1 ? it->dir :
		    tmp.data, strerror(errno));
		goto out;
	}
	if (copy_dir(sfd, dfd, 0, &cp) == -1)
		goto out;
	if (fchmod(dfd, 0755) == -1) {
		verr_set(e, "", "cannot chmod \"%s\": %s", tmp.data,
		    strerror(errno));
		goto out;
	}
	for (int k = 1; k <= COPY_MAX_NAMES; k++) {
		buf_reset(final);
		buf_printf(final, "%s/%s", buf_str(&base), script);
		if (k > 1)
			buf_printf(final, "-%d", k);
		if (rename(tmp.data, buf_str(final)) == 0) {
			placed = 1;
			break;
		}
		if (errno != EEXIST && errno != ENOTEMPTY) {
			verr_set(e, "", "cannot rename \"%s\" to \"%s\": %s",
			    tmp.data, buf_str(final), strerror(errno));
			goto out;
		}
	}
	if (!placed) {
		verr_set(e, "", "\"%s/%s\" and its next %d names are taken",
		    buf_str(&base), script, COPY_MAX_NAMES - 1);
		goto out;
	}
	rs = MKT_OK;
out:
	if (sfd != -1)
		close(sfd);
	if (dfd != -1)
		close(dfd);
	if (made && !placed && fs_remove_path(tmp.data, NULL) == -1)
		log_warn("cannot remove \"%s\"", tmp.data);
	buf_free(&base);
	buf_free(&tmp);
	buf_free(&cp.where);
	return rs;
}

/* ---- the registration ------------------------------------------------- */

/* The item's limits, each lowered to this node's maximum when above it
 * (the item's numbers are suggestions; a studio's lower maxima win). */
static void
write_limits(struct jw *w, const struct conf *c, yajl_val limits)
{
	static const struct {
		const char *name;
		size_t max;
	} ll[] = {
		{ "memory_mb", offsetof(struct conf, limit_memory_mb_max) },
		{ "pids", offsetof(struct conf, limit_pids_max) },
		{ "file_size_mb", offsetof(struct conf,
		    limit_file_size_mb_max) },
		{ "output_cap_kb", offsetof(struct conf,
		    limit_output_cap_kb_max) },
	};

	jw_obj(w);
	for (size_t i = 0; i < limits->u.object.len; i++) {
		const char *k = limits->u.object.keys[i];
		yajl_val v = limits->u.object.values[i];
		size_t j;

		jw_key(w, k);
		if (strcmp(k, "cpu_cores") == 0 && YAJL_IS_NUMBER(v) &&
		    YAJL_GET_DOUBLE(v) > c->limit_cpu_cores_max) {
			jw_double(w, c->limit_cpu_cores_max);
			continue;
		}
		for (j = 0; j < sizeof(ll) / sizeof(ll[0]); j++)
			if (strcmp(k, ll[j].name) == 0)
				break;
		if (j < sizeof(ll) / sizeof(ll[0]) && YAJL_IS_INTEGER(v)) {
			long long max = *(const long long *)(const void *)
			    ((const char *)c + ll[j].max);
			if (YAJL_GET_INTEGER(v) > max) {
				jw_int(w, max);
				continue;
			}
		}
		jw_value(w, v);
	}
	jw_obj_end(w);
}

/* Copies member `key` of the metadata into the body when it is there. */
static void
pass(struct jw *w, const struct market_item *it, const char *key)
{
	yajl_val v = market_item_get(it, key);

	if (v == NULL)
		return;
	jw_key(w, key);
	jw_value(w, v);
}

/* The registration's body (what POST /admin/scripts would get) as a
 * tree the caller frees, or NULL (e says why). */
static yajl_val
registration(const struct conf *c, const struct market_item *it,
    const char *script, int enabled, const char *path, struct verr *e)
{
	struct buf out = BUF_INIT;
	char err[128];
	const char *desc = market_item_str(it, "description");
	yajl_val v, body;
	struct jw w;

	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "name");
	jw_str(&w, script);
	jw_key(&w, "type");
	jw_str(&w, market_item_str(it, "type"));
	jw_key(&w, "path");
	jw_str(&w, path);
	jw_key(&w, "description");
	jw_str(&w, desc != NULL ? desc : market_item_str(it, "summary"));
	jw_key(&w, "enabled");
	jw_bool(&w, enabled);
	if ((v = market_item_get(it, "requirements")) != NULL &&
	    !YAJL_IS_NULL(v))
		pass(&w, it, "requirements");
	pass(&w, it, "args");
	pass(&w, it, "input_mode");
	pass(&w, it, "inputs");
	pass(&w, it, "outputs");
	pass(&w, it, "env");
	pass(&w, it, "network");
	if ((v = market_item_get(it, "timeout_s")) != NULL) {
		jw_key(&w, "timeout_s");
		if (YAJL_IS_INTEGER(v) &&
		    YAJL_GET_INTEGER(v) > c->max_timeout_s)
			jw_int(&w, c->max_timeout_s);
		else
			jw_value(&w, v);
	}
	if (YAJL_IS_OBJECT(v = market_item_get(it, "limits"))) {
		jw_key(&w, "limits");
		write_limits(&w, c, v);
	} else {
		pass(&w, it, "limits");
	}
	jw_obj_end(&w);
	jw_free(&w);
	if ((body = json_parse(out.data, out.len, err, sizeof(err))) == NULL)
		verr_set(e, "", "the item's registration does not parse: %s",
		    err);
	buf_free(&out);
	return body;
}

/* The request's body: "name" and "enabled", both optional. */
static int
parse_body(yajl_val body, const char *item, const char **script,
    int *enabled, struct verr *e)
{
	*script = item;
	*enabled = 1;
	if (body == NULL)
		return 0;
	for (size_t i = 0; i < body->u.object.len; i++) {
		const char *k = body->u.object.keys[i];
		yajl_val v = body->u.object.values[i];

		if (strcmp(k, "name") == 0) {
			if (!YAJL_IS_STRING(v)) {
				verr_set(e, "name", "name must be a string");
				return -1;
			}
			if (names_check_script(v->u.string, e) == -1)
				return -1;
			*script = v->u.string;
		} else if (strcmp(k, "enabled") == 0) {
			if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
				verr_set(e, "enabled", "enabled must be true "
				    "or false");
				return -1;
			}
			*enabled = YAJL_IS_TRUE(v);
		} else {
			verr_set(e, k, "unknown field \"%s\" (an install takes "
			    "name and enabled)", k);
			return -1;
		}
	}
	return 0;
}

/* Recorded in the registration's transaction (registry_create_with). */
struct install_rec {
	const char *item;
	const char *version;
	const char *actor;
};

static int
record_install(void *arg, struct db *db, long long id)
{
	const struct install_rec *ir = arg;

	if (store_market_install_add(db, id, ir->item, ir->version) == -1)
		return -1;
	return store_audit(db, ir->actor, "marketplace.install", "script", id,
	    ir->item);
}

enum market_status
marketplace_install(struct db *db, const struct conf *c, void *magic,
    struct shm *shm, const char *name, yajl_val body, const char *actor,
    struct script *out, struct verr *e)
{
	struct market_item it;
	struct buf dir = BUF_INIT, path = BUF_INIT, missing = BUF_INIT;
	struct install_rec ir;
	struct script old;
	const char *script;
	enum market_status rs = MKT_INVALID;
	enum reg_status reg;
	yajl_val reg_body = NULL;
	int enabled, gone, copied = 0;

	verr_clear(e);
	memset(out, 0, sizeof(*out));
	if (market_item_load(c->marketplace_dir, name, &it, &gone, e) == -1) {
		if (!gone) {
			log_warnx("marketplace item \"%s/%s\" cannot be "
			    "installed: %s", c->marketplace_dir, name,
			    e->message);
			char msg[sizeof(e->message)];
			snprintf(msg, sizeof(msg), "%s", e->message);
			verr_set(e, "", "marketplace item \"%s\" cannot be "
			    "read: %s", name, msg);
		}
		return MKT_NOT_FOUND;
	}
	if (parse_body(body, it.name, &script, &enabled, e) == -1)
		goto out;
	if (market_item_tools_missing(&it, RUN_FIXED_PATH, &missing) > 0) {
		int ff = strstr(buf_str(&missing), "ffmpeg") != NULL ||
		    strstr(buf_str(&missing), "ffprobe") != NULL;
		verr_set(e, "", "marketplace item \"%s\" needs %s, which this "
		    "node does not have (not found in %s): install it%s and "
		    "try again", it.name, buf_str(&missing), RUN_FIXED_PATH,
		    ff ? " (Debian: apt-get install ffmpeg)" : "");
		goto out;
	}
	/* Before anything is copied; the registration decides in the end
	 * (a concurrent install of the name loses there). */
	memset(&old, 0, sizeof(old));
	reg = registry_load(db, 0, script, &old);
	script_free(&old);
	if (reg == REG_OK) {
		verr_set(e, "name", "a script named \"%s\" already exists: "
		    "give the install another name", script);
		rs = MKT_CONFLICT;
		goto out;
	}
	if (reg != REG_NOT_FOUND) {
		rs = MKT_DB;
		goto out;
	}
	if ((rs = place_copy(c, &it, script, &dir, e)) != MKT_OK)
		goto out;
	copied = 1;
	buf_printf(&path, "%s/%s", buf_str(&dir),
	    market_item_str(&it, "script"));
	rs = MKT_INVALID;
	if ((reg_body = registration(c, &it, script, enabled, buf_str(&path),
	    e)) == NULL)
		goto out;
	ir.item = it.name;
	ir.version = it.version;
	ir.actor = actor;
	reg = registry_create_with(db, c, magic, shm, reg_body, actor,
	    record_install, &ir, out, e, NULL);
	switch (reg) {
	case REG_OK:
		rs = MKT_OK;
		copied = 0;
		log_info("marketplace item \"%s\" installed as script \"%s\" "
		    "(%lld) in \"%s\" by \"%s\"", it.name, out->name, out->id,
		    buf_str(&dir), actor);
		break;
	case REG_INVALID:
		rs = MKT_INVALID;
		break;
	case REG_CONFLICT:
		rs = MKT_CONFLICT;
		break;
	case REG_NOT_FOUND:
	case REG_DB:
		rs = MKT_DB;
		break;
	}
out:
	if (copied && fs_remove_path(buf_str(&dir), NULL) == -1)
		log_warn("cannot remove the copy \"%s\"", buf_str(&dir));
	yajl_tree_free(reg_body);
	market_item_free(&it);
	buf_free(&dir);
	buf_free(&path);
	buf_free(&missing);
	return rs;
}
