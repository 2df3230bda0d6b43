/*
 * conf.c - INI configuration through libinih, driven by one table of keys
 * so that parsing, defaults and the documented example cannot drift apart.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <pwd.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "exec.h"
#include "labels.h"
#include "log.h"

/* K_AUTO: an int, or "auto" (CONF_AUTO). K_CPUS: a number of CPUs from
 * min/100 to max, or "auto" (as many as are online). K_HIDE: a list of
 * paths (hide_paths). K_LABELS: a string kept in the canonical form of
 * labels.h. K_HOSTS: a string, also parsed into db_hosts. */
enum key_type { K_STR, K_INT, K_AUTO, K_LL, K_DBL, K_BOOL, K_ROOTS, K_CPUS,
    K_HIDE, K_LABELS, K_HOSTS };

struct key {
	const char *section;
	const char *name;
	enum key_type type;
	size_t off;
	const char *def;
	long long min, max;        /* for K_INT, K_AUTO and K_LL */
};

#define O(f) offsetof(struct conf, f)
static const struct key keys[] = {
	{ "daemon", "listen", K_STR, O(listen), "/run/scriptorch/fcgi.sock", 0, 0 },
	{ "daemon", "api_workers", K_INT, O(api_workers), "4", 1, 256 },
	{ "daemon", "runner_workers", K_INT, O(runner_workers), "2", 0, 256 },
	{ "daemon", "log_level", K_STR, O(log_level), "info", 0, 0 },
	{ "daemon", "node_name", K_STR, O(node_name), "", 0, 0 },
	{ "daemon", "max_body_bytes", K_LL, O(max_body_bytes), "1048576", 1024, 1LL << 30 },
	{ "daemon", "shutdown_timeout_s", K_INT, O(shutdown_timeout_s), "10", 1, 3600 },
	{ "daemon", "socket_mode", K_STR, O(socket_mode), "0660", 0, 0 },
	{ "daemon", "max_waiting_workers", K_AUTO, O(max_waiting_workers), "auto", 0, 255 },
	{ "daemon", "secret_key_file", K_STR, O(secret_key_file), SYSCONFDIR "/scriptorch/secret.key", 0, 0 },
	{ "daemon", "marketplace_dir", K_STR, O(marketplace_dir), PKGDATADIR "/marketplace", 0, 0 },
	{ "daemon", "session_ttl_s", K_INT, O(session_ttl_s), "43200", 60, 2592000 },
	{ "daemon", "node_labels", K_LABELS, O(node_labels), "", 0, 0 },

	{ "database", "host", K_HOSTS, O(db_host), "localhost", 0, 0 },
	{ "database", "port", K_INT, O(db_port), "3306", 0, 65535 },
	{ "database", "socket", K_STR, O(db_socket), "", 0, 0 },
	{ "database", "user", K_STR, O(db_user), "scriptorch", 0, 0 },
	{ "database", "password", K_STR, O(db_password), "", 0, 0 },
	{ "database", "name", K_STR, O(db_name), "scriptorch", 0, 0 },
	{ "database", "connect_timeout_s", K_INT, O(db_connect_timeout_s), "3", 1, 600 },

	{ "runner", "run_user", K_STR, O(run_user), "scriptorch-run", 0, 0 },
	{ "runner", "script_roots", K_ROOTS, 0, "/srv/scriptorch/scripts", 0, 0 },
	{ "runner", "work_dir", K_STR, O(work_dir), "/var/lib/scriptorch/work", 0, 0 },
	{ "runner", "keep_workdirs", K_BOOL, O(keep_workdirs), "no", 0, 0 },
	{ "runner", "default_timeout_s", K_INT, O(default_timeout_s), "300", 1, INT_MAX },
	{ "runner", "max_timeout_s", K_INT, O(max_timeout_s), "86400", 1, INT_MAX },
	{ "runner", "kill_grace_s", K_DBL, O(kill_grace_s), "5", 0, 0 },
	{ "runner", "output_cap_bytes", K_LL, O(output_cap_bytes), "1048576", 1024, 1LL << 32 },
	{ "runner", "output_file_cap_bytes", K_LL, O(output_file_cap_bytes), "1048576", 0, 1LL << 32 },
	{ "runner", "queue_max_depth", K_INT, O(queue_max_depth), "10000", 1, INT_MAX },
	{ "runner", "poll_interval_ms", K_INT, O(poll_interval_ms), "500", 10, 600000 },
	{ "runner", "queue_probe_ms", K_INT, O(queue_probe_ms), "20", 0, 60000 },
	{ "runner", "heartbeat_interval_s", K_INT, O(heartbeat_interval_s), "2", 1, 3600 },
	{ "runner", "heartbeat_timeout_s", K_INT, O(heartbeat_timeout_s), "30", 2, 86400 },
	{ "runner", "retention_days", K_INT, O(retention_days), "90", 0, 36500 },
	{ "runner", "rlimit_cpu_s", K_LL, O(rlimit_cpu_s), "0", 0, LLONG_MAX },
	{ "runner", "rlimit_as_mb", K_LL, O(rlimit_as_mb), "0", 0, 1LL << 40 },
	{ "runner", "rlimit_nofile", K_LL, O(rlimit_nofile), "1024", 0, 1 << 20 },
	{ "runner", "rlimit_nproc", K_LL, O(rlimit_nproc), "0", 0, 1 << 22 },
	{ "runner", "rlimit_fsize_mb", K_LL, O(rlimit_fsize_mb), "0", 0, 1LL << 40 },
	{ "runner", "cgroup_root", K_STR, O(cgroup_root), "", 0, 0 },
	{ "runner", "memory_cgroup_v1", K_BOOL, O(memory_cgroup_v1), "no", 0, 0 },
	{ "runner", "run_uid_base", K_LL, O(run_uid_base), "1990000", 1, 4294967294LL },
	{ "runner", "run_uid_count", K_INT, O(run_uid_count), "256", 1, 65536 },
	{ "runner", "isolation", K_BOOL, O(isolation), "yes", 0, 0 },
	{ "runner", "hide_paths", K_HIDE, 0, "", 0, 0 },

	{ "limits", "memory_mb", K_LL, O(limit_memory_mb), "2048", 1, 1LL << 30 },
	{ "limits", "memory_mb_max", K_LL, O(limit_memory_mb_max), "32768", 1, 1LL << 30 },
	{ "limits", "pids", K_LL, O(limit_pids), "256", 1, 1 << 22 },
	{ "limits", "pids_max", K_LL, O(limit_pids_max), "4096", 1, 1 << 22 },
	{ "limits", "cpu_cores", K_CPUS, O(limit_cpu_cores), "auto", 1, 4096 },
	{ "limits", "cpu_cores_max", K_CPUS, O(limit_cpu_cores_max), "auto", 1, 4096 },
	{ "limits", "file_size_mb", K_LL, O(limit_file_size_mb), "10240", 1, 1LL << 30 },
	{ "limits", "file_size_mb_max", K_LL, O(limit_file_size_mb_max), "102400", 1, 1LL << 30 },
	{ "limits", "output_cap_kb", K_LL, O(limit_output_cap_kb), "1024", 1, 1 << 22 },
	{ "limits", "output_cap_kb_max", K_LL, O(limit_output_cap_kb_max), "16384", 1, 1 << 22 },

	{ "callbacks", "callback_secret", K_STR, O(callback_secret), "", 0, 0 },
	{ "callbacks", "callback_secret_file", K_STR, O(callback_secret_file), SYSCONFDIR "/scriptorch/callback.secret", 0, 0 },
	{ "callbacks", "callback_allow_hosts", K_STR, O(callback_allow_hosts), "", 0, 0 },
	{ "callbacks", "callback_max_age_s", K_LL, O(callback_max_age_s), "86400", 1, 31536000 },
	{ "callbacks", "callback_concurrency", K_INT, O(callback_concurrency), "16", 1, 256 },

	{ "python", "interpreter", K_STR, O(python), "/usr/bin/python3", 0, 0 },
	{ "python", "venv_dir", K_STR, O(venv_dir), "/var/lib/scriptorch/venvs", 0, 0 },
	{ "python", "cache_dir", K_STR, O(venv_cache_dir), "/var/lib/scriptorch/cache", 0, 0 },
	{ "python", "builder", K_STR, O(venv_builder), LIBEXECDIR "/scriptorch/scriptorch-venv", 0, 0 },
	{ "python", "pip_index_url", K_STR, O(pip_index_url), "", 0, 0 },
	{ "python", "pip_find_links", K_STR, O(pip_find_links), "", 0, 0 },
	{ "python", "pip_no_index", K_BOOL, O(pip_no_index), "no", 0, 0 },
	{ "python", "build_timeout_s", K_INT, O(venv_build_timeout_s), "900", 1, 86400 },
	{ "python", "retry_backoff_s", K_INT, O(venv_retry_backoff_s), "60", 0, 86400 },
	{ "python", "max_cache_bytes", K_LL, O(venv_max_bytes), "0", 0, LLONG_MAX },
	{ "python", "max_age_days", K_INT, O(venv_max_age_days), "0", 0, 36500 },
	{ "python", "build_user", K_STR, O(build_user), "scriptorch-build", 0, 0 },
	{ "python", "allow_sdist", K_BOOL, O(allow_sdist), "no", 0, 0 },
	{ "python", "allow_direct_urls", K_BOOL, O(allow_direct_urls), "no", 0, 0 },
};
#undef O
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct load_ctx {
	struct conf *c;
	const char *path;
	char *err;
	size_t errlen;
	int failed;
	/* [runner] output_cap_bytes given, [limits] output_cap_kb given */
	int old_cap_seen, new_cap_seen;
};

/* A list of paths, ":" or "," separated (script_roots, hide_paths). */
static void
set_list(char **list, int *n, int max, const char *value)
{
	char *copy, *tok, *save = NULL;

	for (int i = 0; i < *n; i++) {
		free(list[i]);
		list[i] = NULL;
	}
	*n = 0;
	copy = xstrdup(value);
	for (tok = strtok_r(copy, ":,", &save); tok != NULL;
	    tok = strtok_r(NULL, ":,", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		if (*tok == '\0' || *n == max)
			continue;
		list[(*n)++] = xstrdup(tok);
	}
	free(copy);
}

static void
set_roots(struct conf *c, const char *value)
{
	set_list(c->script_roots, &c->n_script_roots, CONF_MAX_ROOTS, value);
}

static void
free_hosts(struct conf *c)
{
	for (int i = 0; i < c->n_db_hosts; i++)
		free(c->db_hosts[i].name);
	memset(c->db_hosts, 0, sizeof(c->db_hosts));
	c->n_db_hosts = 0;
}

/*
 * [database] host: one server, or an ordered list of them ("db1, db2:3307,
 * [fd00::3]:3306"), each with an optional port (else [database] port).
 * 0, or -1 with msg.
 */
static int
set_hosts(struct conf *c, const char *value, char *msg, size_t msglen)
{
	char *copy = xstrdup(value), *tok, *save = NULL;
	int rc = -1;

	free_hosts(c);
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		char *name = tok, *port = NULL, *end;
		size_t len;
		long p = 0;

		while (*name == ' ' || *name == '\t')
			name++;
		len = strlen(name);
		while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
			name[--len] = '\0';
		if (len == 0)
			continue;
		if (name[0] == '[') {
			char *close = strchr(name, ']');
			if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
				snprintf(msg, msglen, "\"host\": \"%s\" is not "
				    "[address] or [address]:port", name);
				goto out;
			}
			*close = '\0';
			port = close[1] == ':' ? close + 2 : NULL;
			name++;
		} else if ((port = strchr(name, ':')) != NULL) {
			if (strchr(port + 1, ':') != NULL) {
				snprintf(msg, msglen, "\"host\": write an IPv6 "
				    "address as [address]:port, not \"%s\"",
				    name);
				goto out;
			}
			*port++ = '\0';
		}
		if (port != NULL) {
			p = strtol(port, &end, 10);
			if (end == port || *end != '\0' || p < 1 || p > 65535) {
				snprintf(msg, msglen, "\"host\": \"%s\" is not "
				    "a port number", port);
				goto out;
			}
		}
		if (*name == '\0') {
			snprintf(msg, msglen, "\"host\": an entry has no host "
			    "name");
			goto out;
		}
		if (c->n_db_hosts == CONF_MAX_DB_HOSTS) {
			snprintf(msg, msglen, "\"host\": more than %d servers",
			    CONF_MAX_DB_HOSTS);
			goto out;
		}
		c->db_hosts[c->n_db_hosts].name = xstrdup(name);
		c->db_hosts[c->n_db_hosts].port = (int)p;
		c->n_db_hosts++;
	}
	if (c->n_db_hosts == 0) {
		snprintf(msg, msglen, "\"host\" names no server");
		goto out;
	}
	rc = 0;
out:
	free(copy);
	if (rc == -1)
		free_hosts(c);
	return rc;
}

static int
parse_bool(const char *v, int *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") ||
	    !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = 1;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "false") ||
	    !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Stores `value` for `k`; -1 with a message (without location) in msg. */
static int
set_key(struct conf *c, const struct key *k, const char *value, char *msg,
    size_t msglen)
{
	char *base = (char *)c + k->off, *end;
	long long ll;
	double d;

	switch (k->type) {
	case K_STR: {
		char **sp = (char **)(void *)base;
		char *dup = xstrdup(value);
		free(*sp);
		*sp = dup;
		return 0;
	}
	case K_ROOTS:
		set_roots(c, value);
		return 0;
	case K_HIDE:
		set_list(c->hide_paths, &c->n_hide_paths, CONF_MAX_HIDE, value);
		return 0;
	case K_HOSTS: {
		char **sp = (char **)(void *)base;
		if (set_hosts(c, value, msg, msglen) == -1)
			return -1;
		free(*sp);
		*sp = xstrdup(value);
		return 0;
	}
	case K_LABELS: {
		char **sp = (char **)(void *)base;
		struct buf b = BUF_INIT;
		char why[256];
		if (labels_parse_list(value, &b, why, sizeof(why)) == -1) {
			snprintf(msg, msglen, "\"%s\": %s", k->name, why);
			buf_free(&b);
			return -1;
		}
		free(*sp);
		*sp = xstrdup(buf_str(&b));
		buf_free(&b);
		return 0;
	}
	case K_BOOL:
		if (parse_bool(value, (int *)(void *)base) == -1) {
			snprintf(msg, msglen, "\"%s\" must be yes or no, not \"%s\"",
			    k->name, value);
			return -1;
		}
		return 0;
	case K_CPUS:
		if (strcmp(value, "auto") == 0) {
			long n = sysconf(_SC_NPROCESSORS_ONLN);
			*(double *)(void *)base = n > 0 ? (double)n : 1.0;
			return 0;
		}
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end != '\0' ||
		    !(d >= k->min / 100.0 && d <= (double)k->max)) {
			snprintf(msg, msglen, "\"%s\" must be auto or a number of "
			    "CPUs from %g to %lld, not \"%s\"", k->name,
			    k->min / 100.0, k->max, value);
			return -1;
		}
		*(double *)(void *)base = d;
		return 0;
	case K_DBL:
		errno = 0;
		d = strtod(value, &end);
		if (errno || end == value || *end != '\0' || d < 0) {
			snprintf(msg, msglen, "\"%s\" must be a non-negative number, "
			    "not \"%s\"", k->name, value);
			return -1;
		}
		*(double *)(void *)base = d;
		return 0;
	case K_AUTO:
		if (strcmp(value, "auto") == 0) {
			*(int *)(void *)base = CONF_AUTO;
			return 0;
		}
		errno = 0;
		ll = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || ll < k->min ||
		    ll > k->max) {
			snprintf(msg, msglen, "\"%s\" must be auto or a whole "
			    "number from %lld to %lld, not \"%s\"", k->name,
			    k->min, k->max, value);
			return -1;
		}
		*(int *)(void *)base = (int)ll;
		return 0;
	case K_INT:
	case K_LL:
		errno = 0;
		ll = strtoll(value, &end, 10);
		if (errno || end == value || *end != '\0' || ll < k->min ||
		    ll > k->max) {
			snprintf(msg, msglen, "\"%s\" must be a whole number from "
			    "%lld to %lld, not \"%s\"", k->name, k->min, k->max,
			    value);
			return -1;
		}
		if (k->type == K_INT)
			*(int *)(void *)base = (int)ll;
		else
			*(long long *)(void *)base = ll;
		return 0;
	}
	return -1;
}

void
conf_defaults(struct conf *c)
{
	char msg[256], host[256];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (set_key(c, &keys[i], keys[i].def, msg, sizeof(msg)) == -1)
			fatalx("bad built-in default: %s", msg);
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		free(c->node_name);
		c->node_name = xstrdup(host);
	}
}

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	char msg[384];

	if (ctx->failed)
		return 0;
	for (size_t i = 0; i < NKEYS; i++) {
		if (strcmp(keys[i].section, section) != 0 ||
		    strcmp(keys[i].name, name) != 0)
			continue;
		if (set_key(ctx->c, &keys[i], value, msg, sizeof(msg)) == -1) {
			snprintf(ctx->err, ctx->errlen, "%s: [%s] %s", ctx->path,
			    section, msg);
			ctx->failed = 1;
			return 0;
		}
		if (keys[i].off == offsetof(struct conf, output_cap_bytes))
			ctx->old_cap_seen = 1;
		if (keys[i].off == offsetof(struct conf, limit_output_cap_kb))
			ctx->new_cap_seen = 1;
		/* An empty node_name means "the host name", as by default. */
		if (keys[i].off == offsetof(struct conf, node_name) &&
		    *value == '\0') {
			char host[256];
			if (gethostname(host, sizeof(host)) == 0) {
				host[sizeof(host) - 1] = '\0';
				free(ctx->c->node_name);
				ctx->c->node_name = xstrdup(host);
			}
		}
		return 1;
	}
	snprintf(ctx->err, ctx->errlen, "%s: unknown key \"%s\" in [%s]",
	    ctx->path, name, section);
	ctx->failed = 1;
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct load_ctx ctx = { c, path, err, errlen, 0, 0, 0 };
	char note[512];
	int rc;

	rc = ini_parse(path, on_key, &ctx);
	if (rc == -1) {
		snprintf(err, errlen, "cannot open \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if (rc == -2) {
		snprintf(err, errlen, "out of memory reading \"%s\"", path);
		return -1;
	}
	if (rc > 0) {
		if (!ctx.failed)
			snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		else {
			/* Add the line number in front of the handler's text. */
			char tmp[512];
			snprintf(tmp, sizeof(tmp), "%s", err);
			const char *rest = tmp + strlen(path);
			snprintf(err, errlen, "%s:%d%s", path, rc, rest);
		}
		return -1;
	}
	free(c->path);
	c->path = xstrdup(path);
	if (ctx.old_cap_seen && !ctx.new_cap_seen)
		conf_old_output_cap(c, path);
	if (conf_validate(c, err, errlen) == -1)
		return -1;
	if (conf_fit_grace(c, note, sizeof(note)))
		log_warnx("%s: %s", path, note);
	if (conf_load_secret_key(c, err, errlen) == -1)
		return -1;
	return conf_load_callback_secret(c, err, errlen);
}

int
conf_load_secret_key(struct conf *c, char *err, size_t errlen)
{
	const char *path = c->secret_key_file;
	struct stat st;

	c->has_secret_key = 0;
	secret_key_wipe(&c->secret_key);
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		log_warnx("no secret key file \"%s\": scripts' secret_env "
		    "and secret inputs cannot be stored or run until one is "
		    "made (scriptorchd secret-key create) and the daemon "
		    "reloaded", path);
		return 0;
	}
	if (secret_key_load(path, &c->secret_key, err, errlen) == -1)
		return -1;
	c->has_secret_key = 1;
	return 0;
}

/* Takes `len` bytes of `s` as the callbacks' key, trailing blanks and
 * newlines dropped; -1 with err when its length is out of bounds. */
static int
set_callback_key(struct conf *c, const char *s, size_t len, const char *from,
    char *err, size_t errlen)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len < CALLBACK_SECRET_MIN || len > CALLBACK_SECRET_MAX) {
		snprintf(err, errlen, "%s must be from %d to %d bytes long, not "
		    "%zu", from, CALLBACK_SECRET_MIN, CALLBACK_SECRET_MAX, len);
		return -1;
	}
	memcpy(c->callback_key, s, len);
	c->callback_key_len = len;
	c->has_callback_secret = 1;
	return 0;
}

int
conf_load_callback_secret(struct conf *c, char *err, size_t errlen)
{
	const char *path = c->callback_secret_file;
	char data[CALLBACK_SECRET_MAX + 64];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, rc = -1;

	c->has_callback_secret = 0;
	sodium_memzero(c->callback_key, sizeof(c->callback_key));
	c->callback_key_len = 0;
	if (c->callback_secret[0] != '\0')
		return set_callback_key(c, c->callback_secret,
		    strlen(c->callback_secret), "[callbacks] callback_secret",
		    err, errlen);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT) {
			log_warnx("no callback secret (callback_secret, or the "
			    "file \"%s\"): callback URLs are refused and no "
			    "callback is sent until one is set and the daemon "
			    "reloaded", path);
			return 0;
		}
		snprintf(err, errlen, "cannot open callback_secret_file \"%s\": "
		    "%s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "callback_secret_file \"%s\" is not a "
		    "regular file", path);
		goto out;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "callback_secret_file \"%s\" may be read "
		    "or written by group or others (mode %04o): chmod 0600",
		    path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (got < sizeof(data) &&
	    (n = read(fd, data + got, sizeof(data) - got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "cannot read callback_secret_file "
			    "\"%s\": %s", path, strerror(errno));
			goto out;
		}
		got += (size_t)n;
	}
	rc = set_callback_key(c, data, got, "the secret in callback_secret_file",
	    err, errlen);
out:
	sodium_memzero(data, sizeof(data));
	close(fd);
	return rc;
}

/*
 * The build user runs what a venv build runs (pip, and with allow_sdist a
 * package's own setup.py): it must not be root, and must not be the run
 * user, whose runs read the venvs it would then be able to change. Users
 * that do not exist (yet) are checked by name only; a build finds out.
 */
static int
check_build_user(const struct conf *c, char *err, size_t errlen)
{
	struct passwd *pw;
	uid_t build_uid;

	if (c->build_user[0] == '\0') {
		snprintf(err, errlen, "[python] build_user must name a user");
		return -1;
	}
	if (strcmp(c->build_user, "root") == 0) {
		snprintf(err, errlen, "[python] build_user must not be root: "
		    "venv builds never run as root");
		return -1;
	}
	if (strcmp(c->build_user, c->run_user) == 0) {
		snprintf(err, errlen, "[python] build_user must not be the run "
		    "user \"%s\": runs would be able to change their venvs",
		    c->run_user);
		return -1;
	}
	if ((pw = getpwnam(c->build_user)) == NULL)
		return 0;
	build_uid = pw->pw_uid;
	if (build_uid == 0) {
		snprintf(err, errlen, "[python] build_user \"%s\" has uid 0: "
		    "venv builds never run as root", c->build_user);
		return -1;
	}
	if ((pw = getpwnam(c->run_user)) != NULL && pw->pw_uid == build_uid) {
		snprintf(err, errlen, "[python] build_user \"%s\" has the uid "
		    "of the run user \"%s\" (%lu): runs would be able to "
		    "change their venvs", c->build_user, c->run_user,
		    (unsigned long)build_uid);
		return -1;
	}
	return 0;
}

int
conf_check_mode(const struct conf *c, const char *path, char *err,
    size_t errlen)
{
	const char *names[2] = { c->run_user, c->build_user };
	const char *roles[2] = { "run user", "build user" };
	struct passwd *pw;
	struct stat st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "cannot stat \"%s\": %s", path,
		    strerror(errno));
		return -1;
	}
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		snprintf(err, errlen, "\"%s\" can be read or written by every "
		    "user (mode %04o), and it holds the database password: "
		    "chmod 0600, or 0640 with a group scripts do not run in",
		    path, (unsigned)(st.st_mode & 07777));
		return -1;
	}
	for (int i = 0; i < 2; i++) {
		if ((pw = getpwnam(names[i])) == NULL)
			continue;
		if (st.st_uid == pw->pw_uid) {
			snprintf(err, errlen, "\"%s\" belongs to the %s \"%s\", "
			    "and it holds the database password: chown it to "
			    "root", path, roles[i], names[i]);
			return -1;
		}
		if (st.st_gid == pw->pw_gid && (st.st_mode & (S_IRGRP |
		    S_IWGRP))) {
			snprintf(err, errlen, "\"%s\" can be read or written "
			    "by the group of the %s \"%s\" (mode %04o), and it "
			    "holds the database password: chmod 0600, or 0640 "
			    "with a group scripts do not run in", path,
			    roles[i], names[i], (unsigned)(st.st_mode & 07777));
			return -1;
		}
	}
	return 0;
}

void
conf_old_output_cap(struct conf *c, const char *path)
{
	long long kb = (c->output_cap_bytes + 1023) / 1024;

	c->limit_output_cap_kb = kb;
	if (kb > c->limit_output_cap_kb_max)
		c->limit_output_cap_kb_max = kb;
	log_warnx("%s: [runner] output_cap_bytes is replaced by [limits] "
	    "output_cap_kb; its %lld bytes are taken as output_cap_kb = %lld",
	    path, c->output_cap_bytes, kb);
}

/* Each [limits] default within its maximum. */
static int
validate_limits(const struct conf *c, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t def, max;
	} ll[] = {
		{ "memory_mb", offsetof(struct conf, limit_memory_mb),
		    offsetof(struct conf, limit_memory_mb_max) },
		{ "pids", offsetof(struct conf, limit_pids),
		    offsetof(struct conf, limit_pids_max) },
		{ "file_size_mb", offsetof(struct conf, limit_file_size_mb),
		    offsetof(struct conf, limit_file_size_mb_max) },
		{ "output_cap_kb", offsetof(struct conf, limit_output_cap_kb),
		    offsetof(struct conf, limit_output_cap_kb_max) },
	};

	for (size_t i = 0; i < sizeof(ll) / sizeof(ll[0]); i++) {
		long long d = *(const long long *)(const void *)
		    ((const char *)c + ll[i].def);
		long long m = *(const long long *)(const void *)
		    ((const char *)c + ll[i].max);
		if (d > m) {
			snprintf(err, errlen, "[limits] %s (%lld) is above "
			    "%s_max (%lld)", ll[i].name, d, ll[i].name, m);
			return -1;
		}
	}
	if (c->limit_cpu_cores > c->limit_cpu_cores_max) {
		snprintf(err, errlen, "[limits] cpu_cores (%g) is above "
		    "cpu_cores_max (%g)", c->limit_cpu_cores,
		    c->limit_cpu_cores_max);
		return -1;
	}
	return 0;
}

/* 1 when `inner` is `outer` or below it (by text: both absolute). */
static int
path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	while (n > 1 && outer[n - 1] == '/')
		n--;
	if (n == 1 && outer[0] == '/')
		return 1;
	return strncmp(inner, outer, n) == 0 &&
	    (inner[n] == '\0' || inner[n] == '/');
}

/*
 * A run sees the script roots and nothing of the daemon's work base and
 * venvs but its own: those are hidden over the roots' view, so a work
 * base or venv directory inside a root (or a root inside the work base)
 * would hide a run's own work dir or venv from it.
 */
static int
check_layout(const struct conf *c, char *err, size_t errlen)
{
	const char *own[] = { c->work_dir, c->venv_dir, c->venv_cache_dir };
	const char *what[] = { "work_dir", "venv_dir", "cache_dir" };

	for (int i = 0; i < c->n_script_roots; i++) {
		const char *root = c->script_roots[i];

		for (size_t k = 0; k < sizeof(own) / sizeof(own[0]); k++) {
			if (path_within(own[k], root) ||
			    path_within(root, own[k])) {
				snprintf(err, errlen, "%s \"%s\" and the script "
				    "root \"%s\" overlap: runs see the script "
				    "roots and must not see the daemon's %s, so "
				    "neither may lie inside the other", what[k],
				    own[k], root, what[k]);
				return -1;
			}
		}
	}
	return 0;
}

int
conf_validate(const struct conf *c, char *err, size_t errlen)
{
	if (c->listen[0] == '\0') {
		snprintf(err, errlen, "[daemon] listen must not be empty");
		return -1;
	}
	if (c->n_script_roots == 0) {
		snprintf(err, errlen, "[runner] script_roots names no directory");
		return -1;
	}
	for (int i = 0; i < c->n_script_roots; i++) {
		if (c->script_roots[i][0] != '/') {
			snprintf(err, errlen, "[runner] script_roots: \"%s\" is "
			    "not an absolute path", c->script_roots[i]);
			return -1;
		}
	}
	if (c->work_dir[0] != '/' || c->venv_dir[0] != '/' ||
	    c->venv_cache_dir[0] != '/') {
		snprintf(err, errlen, "work_dir, venv_dir and cache_dir must be "
		    "absolute paths");
		return -1;
	}
	if (check_layout(c, err, errlen) == -1)
		return -1;
	if (c->secret_key_file[0] != '/') {
		snprintf(err, errlen, "[daemon] secret_key_file must be an "
		    "absolute path, not \"%s\"", c->secret_key_file);
		return -1;
	}
	if (c->marketplace_dir[0] != '/') {
		snprintf(err, errlen, "[daemon] marketplace_dir must be an "
		    "absolute path, not \"%s\"", c->marketplace_dir);
		return -1;
	}
	if (c->python[0] != '/') {
		snprintf(err, errlen, "[python] interpreter must be an absolute "
		    "path, not \"%s\"", c->python);
		return -1;
	}
	if (c->default_timeout_s > c->max_timeout_s) {
		snprintf(err, errlen, "[runner] default_timeout_s (%d) is above "
		    "max_timeout_s (%d)", c->default_timeout_s,
		    c->max_timeout_s);
		return -1;
	}
	if (c->heartbeat_timeout_s <= c->heartbeat_interval_s) {
		snprintf(err, errlen, "[runner] heartbeat_timeout_s must be "
		    "longer than heartbeat_interval_s");
		return -1;
	}
	/* Each running execution has a uid of its own: one per runner, and
	 * a runner holds its uid for its life. */
	if (c->run_uid_count < c->runner_workers) {
		snprintf(err, errlen, "[runner] run_uid_count (%d) is smaller "
		    "than runner_workers (%d): every running execution needs a "
		    "run uid of its own; raise run_uid_count (twice "
		    "runner_workers lets a reload start new runners while the "
		    "old ones finish)", c->run_uid_count, c->runner_workers);
		return -1;
	}
	if (c->run_uid_base + c->run_uid_count - 1 > 4294967294LL) {
		snprintf(err, errlen, "[runner] run_uid_base %lld + run_uid_count "
		    "%d goes past the largest uid, 4294967294", c->run_uid_base,
		    c->run_uid_count);
		return -1;
	}
	for (int i = 0; i < c->n_hide_paths; i++) {
		if (c->hide_paths[i][0] != '/') {
			snprintf(err, errlen, "[runner] hide_paths: \"%s\" is not "
			    "an absolute path", c->hide_paths[i]);
			return -1;
		}
	}
	if (c->max_waiting_workers != CONF_AUTO &&
	    c->max_waiting_workers >= c->api_workers) {
		snprintf(err, errlen, "[daemon] max_waiting_workers (%d) must be "
		    "below api_workers (%d): a waiting worker answers nothing "
		    "else, and at least one must stay free for other requests",
		    c->max_waiting_workers, c->api_workers);
		return -1;
	}
	if (validate_limits(c, err, errlen) == -1)
		return -1;
	if (c->callback_secret_file[0] != '/') {
		snprintf(err, errlen, "[callbacks] callback_secret_file must be "
		    "an absolute path, not \"%s\"", c->callback_secret_file);
		return -1;
	}
	if (callback_allow_check(c->callback_allow_hosts, err, errlen) == -1)
		return -1;
	enum log_level lvl;
	if (log_level_parse(c->log_level, &lvl) == -1) {
		snprintf(err, errlen, "[daemon] log_level must be error, warn, "
		    "info or debug, not \"%s\"", c->log_level);
		return -1;
	}
	if (check_build_user(c, err, errlen) == -1)
		return -1;
	return 0;
}

int
conf_fit_grace(struct conf *c, char *note, size_t notelen)
{
	double grace = c->kill_grace_s > 0 ? c->kill_grace_s :
	    EXEC_DEFAULT_GRACE_S;
	double most = c->heartbeat_timeout_s - CONF_GRACE_MARGIN_S;

	/* heartbeat_timeout_s is at least 2: `most` is at least 0.5 s. */
	if (grace <= most)
		return 0;
	snprintf(note, notelen, "[runner] kill_grace_s %g lowered to %g s: "
	    "the grace must end %g s before heartbeat_timeout_s (%d s), or "
	    "a run killed in it could be marked lost; raise "
	    "heartbeat_timeout_s to keep a longer grace", grace, most,
	    CONF_GRACE_MARGIN_S, c->heartbeat_timeout_s);
	c->kill_grace_s = most;
	return 1;
}

int
conf_max_waiting(const struct conf *c)
{
	if (c->max_waiting_workers != CONF_AUTO)
		return c->max_waiting_workers;
	return c->api_workers / 2;
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].type == K_STR || keys[i].type == K_LABELS ||
		    keys[i].type == K_HOSTS)
			free(*(char **)(void *)((char *)c + keys[i].off));
	free_hosts(c);
	for (int i = 0; i < c->n_script_roots; i++)
		free(c->script_roots[i]);
	for (int i = 0; i < c->n_hide_paths; i++)
		free(c->hide_paths[i]);
	free(c->path);
	secret_key_wipe(&c->secret_key);
	sodium_memzero(c->callback_key, sizeof(c->callback_key));
	memset(c, 0, sizeof(*c));
}

int
conf_private_paths(const struct conf *c, const char **out, int max)
{
	const char *own[] = { c->path, c->secret_key_file, c->db_socket,
	    c->listen, c->work_dir, c->venv_dir, c->venv_cache_dir };
	int n = 0;

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) && n < max; i++)
		if (own[i] != NULL && own[i][0] == '/')
			out[n++] = own[i];
	for (int i = 0; i < c->n_hide_paths && n < max; i++)
		out[n++] = c->hide_paths[i];
	out[n] = NULL;
	return n;
}
