/* Unit tests of conf.c: defaults, parsing, errors with line numbers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "tap.h"

static char path[] = "/tmp/test-conf-XXXXXX";

static int
load_text(struct conf *c, const char *text, char *err, size_t errlen)
{
	FILE *f = fopen(path, "w");

	fputs(text, f);
	fclose(f);
	conf_free(c);
	conf_defaults(c);
	return conf_load(c, path, err, errlen);
}

int
main(void)
{
	struct conf c;
	char err[512];
	int fd;

	plan_lazy();
	fd = mkstemp(path);
	close(fd);
	conf_defaults(&c);
	is_str(c.listen, "/run/scriptorch/fcgi.sock", "default listen");
	is_int(c.api_workers, 4, "default api_workers");
	is_int(c.max_body_bytes, 1048576, "default body limit 1 MiB");
	is_int(c.default_timeout_s, 300, "default timeout 300 s");
	ok(c.kill_grace_s == 5.0, "default grace 5 s");
	is_int(c.n_script_roots, 1, "one default script root");
	ok(c.node_name[0] != '\0', "node name defaults to the host name");

	is_int(load_text(&c, "[daemon]\nlisten = 127.0.0.1:9000\napi_workers=8\n"
	    "[runner]\nscript_roots = /srv/a:/srv/b, /srv/c\nkeep_workdirs = yes\n"
	    "kill_grace_s = 0.5\n[python]\npip_no_index = true\n", err,
	    sizeof(err)), 0, "a valid file loads");
	is_str(c.listen, "127.0.0.1:9000", "listen read");
	is_int(c.api_workers, 8, "int read");
	is_int(c.n_script_roots, 3, "roots split on : and ,");
	is_str(c.script_roots[2], "/srv/c", "root trimmed");
	is_int(c.keep_workdirs, 1, "bool yes");
	ok(c.kill_grace_s == 0.5, "double read");
	is_int(c.pip_no_index, 1, "bool true");

	is_int(load_text(&c, "[daemon]\nlistn = x\n", err, sizeof(err)), -1,
	    "unknown key refused");
	ok(strstr(err, ":2") && strstr(err, "unknown key \"listn\""),
	    "message names line and key: %s", err);
	is_int(load_text(&c, "[daemon]\napi_workers = lots\n", err,
	    sizeof(err)), -1, "non-number refused");
	ok(strstr(err, "api_workers") != NULL, "message names the key: %s", err);
	is_int(load_text(&c, "[daemon]\napi_workers = 0\n", err, sizeof(err)),
	    -1, "out of range refused");
	is_int(load_text(&c, "[runner]\nkeep_workdirs = maybe\n", err,
	    sizeof(err)), -1, "bad bool refused");
	is_int(load_text(&c, "[runner]\nscript_roots = relative/dir\n", err,
	    sizeof(err)), -1, "relative script root refused");
	is_int(load_text(&c, "[runner]\ndefault_timeout_s = 500\n"
	    "max_timeout_s = 100\n", err, sizeof(err)), -1,
	    "default above max refused");
	is_int(load_text(&c, "[daemon]\nlog_level = loud\n", err, sizeof(err)),
	    -1, "bad log level refused");
	is_int(load_text(&c, "[python]\ninterpreter = python3\n", err,
	    sizeof(err)), -1, "relative interpreter refused");
	is_int(load_text(&c, "not an ini line\n", err, sizeof(err)), -1,
	    "syntax error refused");
	conf_free(&c);
	conf_defaults(&c);
	is_int(conf_load(&c, "/nonexistent/x.conf", err, sizeof(err)), -1,
	    "missing file refused");
	ok(strstr(err, "cannot open") != NULL, "message says so: %s", err);
	conf_free(&c);
	unlink(path);
	return done_testing();
}
