/*
 * settings.c - the client's URL, token and CA file: options, environment,
 * config file, in that order of precedence (settings.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "settings.h"

/* What the config file said (each NULL when absent). */
struct file_vals {
	char *url;
	char *token;
	char *cacert;
	const char *path;
	struct buf *err;
	int failed;
};

static int
on_key(void *user, const char *section, const char *name, const char *value)
{
	struct file_vals *fv = user;
	char **slot = NULL;

	if (fv->failed)
		return 0;
	if (*section != '\0' && strcmp(section, "client") != 0) {
		buf_printf(fv->err, "%s: unknown section [%s] (the client "
		    "reads [client] only)", fv->path, section);
		fv->failed = 1;
		return 0;
	}
	if (strcmp(name, "url") == 0)
		slot = &fv->url;
	else if (strcmp(name, "token") == 0)
		slot = &fv->token;
	else if (strcmp(name, "cacert") == 0)
		slot = &fv->cacert;
	if (slot == NULL) {
		buf_printf(fv->err, "%s: unknown key \"%s\" (known: url, token, "
		    "cacert)", fv->path, name);
		fv->failed = 1;
		return 0;
	}
	free(*slot);
	*slot = *value ? xstrdup(value) : NULL;
	return 1;
}

static void
file_vals_free(struct file_vals *fv)
{
	free(fv->url);
	free(fv->token);
	free(fv->cacert);
}

/* The config file to read: *named is 1 when the user named it (then it
 * must exist). NULL when there is none to look for (no home). */
static char *
config_path(const struct settings_opts *o, int *named)
{
	const char *p = o->config, *xdg, *home;
	struct buf b = BUF_INIT;

	*named = 1;
	if (p == NULL || *p == '\0')
		p = getenv("SCRIPTORCH_CONFIG");
	if (p != NULL && *p != '\0')
		return xstrdup(p);
	*named = 0;
	xdg = getenv("XDG_CONFIG_HOME");
	if (xdg != NULL && xdg[0] == '/') {
		buf_printf(&b, "%s/scriptorch/client.conf", xdg);
		return buf_detach(&b, NULL);
	}
	home = getenv("HOME");
	if (home == NULL || *home == '\0') {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (home == NULL || *home == '\0')
		return NULL;
	buf_printf(&b, "%s/.config/scriptorch/client.conf", home);
	return buf_detach(&b, NULL);
}

/*
 * Reads the config file into fv. The checks run on the descriptor that is
 * read (fstat, not stat then open), so the file that was checked is the
 * file that was parsed. Returns 0 (also when an unnamed default file is
 * absent) or -1 with fv->err filled.
 */
static int
read_file(const char *path, int named, struct file_vals *fv)
{
	struct stat st;
	FILE *f = NULL;
	int fd = -1, rc = -1, prc;
	unsigned mode;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1) {
		if (errno == ENOENT && !named)
			return 0;
		buf_printf(fv->err, "cannot open the config file %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1) {
		buf_printf(fv->err, "cannot stat %s: %s", path, strerror(errno));
		goto out;
	}
	mode = (unsigned)st.st_mode & 07777;
	if (!S_ISREG(st.st_mode)) {
		buf_printf(fv->err, "the config file %s is not a regular file",
		    path);
		goto out;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		buf_printf(fv->err, "the config file %s is owned by uid %lu, not "
		    "by you (uid %lu) or root: refused, since it decides where "
		    "your token is sent", path, (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto out;
	}
	if (mode & 022) {
		buf_printf(fv->err, "the config file %s may be written by group "
		    "or others (mode %04o): refused, since it decides where your "
		    "token is sent; chmod go-w %s", path, mode, path);
		goto out;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		buf_printf(fv->err, "cannot read %s: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	prc = ini_parse_file(f, on_key, fv);
	if (fv->failed)
		goto out;
	if (prc != 0) {
		if (prc > 0)
			buf_printf(fv->err, "%s:%d: syntax error", path, prc);
		else
			buf_printf(fv->err, "cannot read %s", path);
		goto out;
	}
	if (fv->token != NULL && (mode & 044)) {
		buf_printf(fv->err, "the config file %s holds a token and may be "
		    "read by group or others (mode %04o): refused; chmod 600 %s",
		    path, mode, path);
		goto out;
	}
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd != -1)
		close(fd);
	return rc;
}

/* The first of the option, the environment variable, the file's value;
 * *from says which. */
static const char *
pick(const char *opt, const char *opt_name, const char *env_name,
    const char *file_val, const char *file, const char **from)
{
	const char *e = getenv(env_name);

	if (opt != NULL && *opt != '\0') {
		*from = opt_name;
		return opt;
	}
	if (e != NULL && *e != '\0') {
		*from = env_name;
		return e;
	}
	*from = file;
	return file_val;
}

int
settings_load(struct settings *s, const struct settings_opts *o,
    struct buf *err)
{
	struct file_vals fv;
	const char *v, *from, *p;
	char *path = NULL;
	int named, rc = -1;
	size_t n;

	memset(s, 0, sizeof(*s));
	memset(&fv, 0, sizeof(fv));
	fv.err = err;
	path = config_path(o, &named);
	fv.path = path;
	if (path != NULL && read_file(path, named, &fv) == -1)
		goto out;
	if (path != NULL && (fv.url || fv.token || fv.cacert || named))
		s->config = xstrdup(path);

	v = pick(o->url, "--url", "SCRIPTORCH_URL", fv.url, path, &from);
	if (v == NULL) {
		buf_printf(err, "no server URL: set SCRIPTORCH_URL, give --url, "
		    "or put url = ... in %s", path ? path : "a config file");
		goto out;
	}
	if (strncasecmp(v, "http://", 7) != 0 &&
	    strncasecmp(v, "https://", 8) != 0) {
		buf_printf(err, "the URL \"%s\" (from %s) is not http:// or "
		    "https://", v, from);
		goto out;
	}
	s->url = xstrdup(v);
	n = strlen(s->url);
	while (n > 0 && s->url[n - 1] == '/')
		s->url[--n] = '\0';
	s->url_from = from == path ? s->config : from;

	v = pick(o->token, "--token", "SCRIPTORCH_TOKEN", fv.token, path,
	    &from);
	if (v != NULL) {
		/* It goes into a header line: printable ASCII only. */
		for (p = v; *p; p++) {
			if (*p <= ' ' || *p > '~') {
				buf_printf(err, "the token from %s holds a space or "
				    "a character a header cannot carry", from);
				goto out;
			}
		}
		s->token = xstrdup(v);
	}
	v = pick(o->cacert, "--cacert", "SCRIPTORCH_CACERT", fv.cacert, path,
	    &from);
	if (v != NULL)
		s->cacert = xstrdup(v);
	s->insecure = o->insecure;
	rc = 0;
out:
	if (rc == -1)
		settings_free(s);
	file_vals_free(&fv);
	free(path);
	return rc;
}

void
settings_free(struct settings *s)
{
	free(s->url);
	free(s->token);
	free(s->cacert);
	free(s->config);
	memset(s, 0, sizeof(*s));
}
