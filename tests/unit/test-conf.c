/* Unit tests of conf.c: defaults, parsing, errors with line numbers. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "secret.h"
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
	is_int(c.session_ttl_s, 43200, "a browser session lasts 12 h");

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
	is_int(load_text(&c, "[runner]\nscript_roots = /srv/s\n"
	    "work_dir = /srv/s/work\n", err, sizeof(err)), -1,
	    "a work base inside a script root refused");
	ok(strstr(err, "work_dir \"/srv/s/work\" and the script root "
	    "\"/srv/s\" overlap") != NULL, "says which: %s", err);
	is_int(load_text(&c, "[runner]\nscript_roots = /var/lib/scriptorch/"
	    "work/x:/srv/ok\n", err, sizeof(err)), -1,
	    "a script root inside the work base refused");
	is_int(load_text(&c, "[runner]\nscript_roots = /\n", err,
	    sizeof(err)), -1, "the root directory as script root refused");
	is_int(load_text(&c, "[runner]\nscript_roots = /srv/work\n"
	    "work_dir = /srv/workdirs\n", err, sizeof(err)), 0,
	    "a common prefix is no overlap: %s", err);
	is_int(load_text(&c, "[runner]\ndefault_timeout_s = 500\n"
	    "max_timeout_s = 100\n", err, sizeof(err)), -1,
	    "default above max refused");
	is_int(load_text(&c, "[daemon]\nlog_level = loud\n", err, sizeof(err)),
	    -1, "bad log level refused");
	is_int(load_text(&c, "[python]\ninterpreter = python3\n", err,
	    sizeof(err)), -1, "relative interpreter refused");
	is_int(load_text(&c, "not an ini line\n", err, sizeof(err)), -1,
	    "syntax error refused");

	/* Waiting workers: by default half of api_workers, never all. */
	conf_free(&c);
	conf_defaults(&c);
	ok(c.max_waiting_workers == CONF_AUTO && conf_max_waiting(&c) == 2,
	    "default max_waiting_workers: auto, 2 of 4 workers");
	is_int(load_text(&c, "[daemon]\napi_workers = 9\n", err,
	    sizeof(err)), 0, "auto follows api_workers");
	is_int(conf_max_waiting(&c), 4, "4 of 9 wait at most");
	is_int(load_text(&c, "[daemon]\napi_workers = 1\n", err,
	    sizeof(err)), 0, "one worker loads");
	is_int(conf_max_waiting(&c), 0, "and never waits");
	is_int(load_text(&c, "[daemon]\napi_workers = 4\n"
	    "max_waiting_workers = 3\n", err, sizeof(err)), 0,
	    "3 of 4 workers may wait");
	is_int(conf_max_waiting(&c), 3, "as set");
	is_int(load_text(&c, "[daemon]\napi_workers = 2\n"
	    "max_waiting_workers = 0\n", err, sizeof(err)), 0,
	    "0: nothing waits");
	is_int(conf_max_waiting(&c), 0, "as set (0)");
	is_int(load_text(&c, "[daemon]\nmax_waiting_workers = auto\n", err,
	    sizeof(err)), 0, "auto may be written");
	is_int(load_text(&c, "[daemon]\napi_workers = 4\n"
	    "max_waiting_workers = 4\n", err, sizeof(err)), -1,
	    "as many waiting as workers refused");
	ok(strstr(err, "max_waiting_workers (4) must be below api_workers "
	    "(4)") != NULL, "the message names both: %s", err);
	is_int(load_text(&c, "[daemon]\nmax_waiting_workers = 3\n"
	    "api_workers = 2\n", err, sizeof(err)), -1,
	    "checked whatever the order of the keys");
	is_int(load_text(&c, "[daemon]\nmax_waiting_workers = many\n", err,
	    sizeof(err)), -1, "a word other than auto refused");
	ok(strstr(err, "must be auto or a whole number") != NULL,
	    "the message says what is allowed: %s", err);
	is_int(load_text(&c, "[daemon]\nmax_waiting_workers = -1\n", err,
	    sizeof(err)), -1, "a negative number refused");

	/* The kill grace must end CONF_GRACE_MARGIN_S (1.5 s) before the
	 * heartbeat timeout; a longer one is lowered, never refused. */
	is_int(load_text(&c, "[runner]\nkill_grace_s = 5\n"
	    "heartbeat_timeout_s = 30\n", err, sizeof(err)), 0,
	    "grace well below the heartbeat timeout loads");
	ok(c.kill_grace_s == 5.0, "and is kept");
	is_int(load_text(&c, "[runner]\nkill_grace_s = 3.5\n"
	    "heartbeat_timeout_s = 5\n", err, sizeof(err)), 0,
	    "grace exactly 1.5 s below the timeout loads");
	ok(c.kill_grace_s == 3.5, "and is kept");
	is_int(load_text(&c, "[runner]\nkill_grace_s = 20\n"
	    "heartbeat_timeout_s = 6\n", err, sizeof(err)), 0,
	    "grace beyond the heartbeat timeout still loads");
	ok(c.kill_grace_s == 4.5, "lowered to timeout - 1.5 s (%g)",
	    c.kill_grace_s);
	is_int(load_text(&c, "[runner]\nkill_grace_s = 5\n"
	    "heartbeat_timeout_s = 5\n", err, sizeof(err)), 0,
	    "grace equal to the heartbeat timeout loads");
	ok(c.kill_grace_s == 3.5, "lowered too (%g)", c.kill_grace_s);
	is_int(load_text(&c, "[runner]\nkill_grace_s = 0\n"
	    "heartbeat_timeout_s = 3\nheartbeat_interval_s = 1\n", err,
	    sizeof(err)), 0, "grace 0 (the executor's 5 s) with timeout 3");
	ok(c.kill_grace_s == 1.5, "lowered as 5 s would be (%g)",
	    c.kill_grace_s);
	is_int(load_text(&c, "[runner]\nkill_grace_s = 0\n", err,
	    sizeof(err)), 0, "grace 0 with the default timeout");
	ok(c.kill_grace_s == 0.0, "kept: 5 s fits below 30 s");

	/* [limits]: every run's, unless its script sets its own. */
	conf_free(&c);
	conf_defaults(&c);
	ok(c.limit_memory_mb == 2048 && c.limit_pids == 256 &&
	    c.limit_file_size_mb == 10240 && c.limit_output_cap_kb == 1024,
	    "default limits: 2048 MB, 256 pids, 10240 MB files, 1024 KB");
	ok(c.limit_cpu_cores == (double)sysconf(_SC_NPROCESSORS_ONLN) &&
	    c.limit_cpu_cores_max == c.limit_cpu_cores,
	    "cpu_cores auto: the number of CPUs (%g)", c.limit_cpu_cores);
	is_int(load_text(&c, "[limits]\nmemory_mb = 512\nmemory_mb_max = 512\n"
	    "cpu_cores = 0.5\ncpu_cores_max = 64\npids = 16\n", err,
	    sizeof(err)), 0, "limits read");
	ok(c.limit_memory_mb == 512 && c.limit_cpu_cores == 0.5 &&
	    c.limit_cpu_cores_max == 64 && c.limit_pids == 16,
	    "as given");
	is_int(load_text(&c, "[limits]\nmemory_mb = 4096\n"
	    "memory_mb_max = 1024\n", err, sizeof(err)), -1,
	    "a default above its maximum refused");
	ok(strstr(err, "[limits] memory_mb (4096) is above memory_mb_max "
	    "(1024)") != NULL, "the message names both: %s", err);
	is_int(load_text(&c, "[limits]\ncpu_cores = 3\ncpu_cores_max = 2\n",
	    err, sizeof(err)), -1, "cpu_cores above its maximum refused");
	is_int(load_text(&c, "[limits]\ncpu_cores = 0.001\n", err,
	    sizeof(err)), -1, "cpu_cores below 0.01 refused");
	ok(strstr(err, "must be auto or a number of CPUs from 0.01") != NULL,
	    "the message says what is allowed: %s", err);
	is_int(load_text(&c, "[limits]\npids = 0\n", err, sizeof(err)), -1,
	    "pids 0 refused (a run always has a limit)");
	/* An earlier release's output cap becomes the default. */
	is_int(load_text(&c, "[runner]\noutput_cap_bytes = 100000\n", err,
	    sizeof(err)), 0, "[runner] output_cap_bytes still loads");
	is_int(c.limit_output_cap_kb, 98, "as output_cap_kb, rounded up");
	is_int(load_text(&c, "[runner]\noutput_cap_bytes = 104857600\n", err,
	    sizeof(err)), 0, "a cap above output_cap_kb_max loads");
	ok(c.limit_output_cap_kb == 102400 &&
	    c.limit_output_cap_kb_max == 102400, "and raises the maximum");
	is_int(load_text(&c, "[runner]\noutput_cap_bytes = 100000\n"
	    "[limits]\noutput_cap_kb = 8\n", err, sizeof(err)), 0,
	    "both given");
	is_int(c.limit_output_cap_kb, 8, "[limits] output_cap_kb wins");

	/* Several nodes: labels, the ordered list of database servers. */
	conf_free(&c);
	conf_defaults(&c);
	is_str(c.node_labels, "", "no labels by default");
	is_int(c.n_db_hosts, 1, "one database server by default");
	is_str(c.db_hosts[0].name, "localhost", "localhost");
	is_int(c.queue_probe_ms, 20, "default queue_probe_ms");
	is_int(load_text(&c, "[daemon]\nnode_labels = gpu, ffmpeg,gpu\n"
	    "[database]\nhost = db1, db2:3307 ,[fd00::3]:3308,[fd00::4]\n"
	    "port = 3310\n", err, sizeof(err)), 0, "labels and a host list");
	is_str(c.node_labels, "ffmpeg,gpu", "labels kept sorted, each once");
	is_int(c.n_db_hosts, 4, "four servers");
	is_str(c.db_hosts[0].name, "db1", "first in order");
	is_int(c.db_hosts[0].port, 0, "without a port: [database] port");
	is_int(c.db_port, 3310, "which is 3310");
	is_str(c.db_hosts[1].name, "db2", "second");
	is_int(c.db_hosts[1].port, 3307, "its own port");
	is_str(c.db_hosts[2].name, "fd00::3", "an IPv6 address in brackets");
	is_int(c.db_hosts[2].port, 3308, "with a port");
	is_str(c.db_hosts[3].name, "fd00::4", "and without");
	is_int(load_text(&c, "[daemon]\nnode_labels = GPU\n", err,
	    sizeof(err)), -1, "a bad label refused");
	ok(strstr(err, "node_labels") != NULL && strstr(err, "GPU") != NULL,
	    "says which: %s", err);
	is_int(load_text(&c, "[database]\nhost = db1:x\n", err, sizeof(err)),
	    -1, "a bad port refused");
	is_int(load_text(&c, "[database]\nhost = fd00::1\n", err, sizeof(err)),
	    -1, "an IPv6 address without brackets refused");
	is_int(load_text(&c, "[database]\nhost = ,\n", err, sizeof(err)), -1,
	    "no server refused");

	conf_free(&c);
	conf_defaults(&c);
	is_int(conf_fit_grace(&c, err, sizeof(err)), 0,
	    "the defaults fit (5 s grace, 30 s timeout)");
	c.heartbeat_timeout_s = 2;
	c.kill_grace_s = 0.6;
	err[0] = '\0';
	is_int(conf_fit_grace(&c, err, sizeof(err)), 1,
	    "the smallest timeout (2 s) leaves a 0.5 s grace");
	ok(c.kill_grace_s == 0.5, "grace 0.5 s (%g)", c.kill_grace_s);
	ok(strstr(err, "kill_grace_s 0.6 lowered to 0.5 s") != NULL &&
	    strstr(err, "heartbeat_timeout_s (2 s)") != NULL,
	    "the note names both keys and values: %s", err);
	is_int(conf_fit_grace(&c, err, sizeof(err)), 0,
	    "a fitted grace fits");

	/* The secret key: loaded with the file; missing is a warning, a
	 * key of another mode or form stops the load. */
	{
		char kdir[] = "/tmp/test-conf-key-XXXXXX", text[512], kp[300];
		FILE *f;

		ok(mkdtemp(kdir) != NULL, "a dir for keys");
		snprintf(kp, sizeof(kp), "%s/secret.key", kdir);
		conf_free(&c);
		conf_defaults(&c);
		is_str(c.secret_key_file, SYSCONFDIR "/scriptorch/secret.key",
		    "default secret_key_file");
		snprintf(text, sizeof(text), "[daemon]\nsecret_key_file = %s\n",
		    kp);
		is_int(load_text(&c, text, err, sizeof(err)), 0,
		    "a missing key file: the config loads");
		is_int(c.has_secret_key, 0, "without a key");
		ok(secret_key_create(kp, err, sizeof(err)) == 0, "a key made");
		is_int(load_text(&c, text, err, sizeof(err)), 0,
		    "with the key file: loads");
		is_int(c.has_secret_key, 1, "with the key");
		chmod(kp, 0640);
		is_int(load_text(&c, text, err, sizeof(err)), -1,
		    "a group-readable key file: refused");
		ok(strstr(err, "only its owner may read it") != NULL,
		    "says why: %s", err);
		unlink(kp);
		f = fopen(kp, "w");
		fputs("not a key\n", f);
		fclose(f);
		chmod(kp, 0600);
		is_int(load_text(&c, text, err, sizeof(err)), -1,
		    "a key file of another form: refused");
		ok(strstr(err, "must hold 64 hex characters") != NULL,
		    "says why: %s", err);
		unlink(kp);
		rmdir(kdir);
		is_int(load_text(&c, "[daemon]\nsecret_key_file = key\n", err,
		    sizeof(err)), -1, "a relative key path: refused");
		ok(strstr(err, "secret_key_file must be an absolute path") !=
		    NULL, "says why: %s", err);
	}

	/* The callback secret: inline, or a file (missing: a warning). */
	{
		char kdir[] = "/tmp/test-conf-cb-XXXXXX", text[512], kp[300];
		FILE *f;

		ok(mkdtemp(kdir) != NULL, "a dir for the callback secret");
		snprintf(kp, sizeof(kp), "%s/callback.secret", kdir);
		conf_free(&c);
		conf_defaults(&c);
		is_str(c.callback_secret_file,
		    SYSCONFDIR "/scriptorch/callback.secret",
		    "default callback_secret_file");
		ok(c.callback_max_age_s == 86400 && c.callback_concurrency == 16
		    && strcmp(c.callback_allow_hosts, "") == 0,
		    "defaults: a day, 16 at once, every host");
		snprintf(text, sizeof(text), "[callbacks]\n"
		    "callback_secret_file = %s\n", kp);
		is_int(load_text(&c, text, err, sizeof(err)), 0,
		    "a missing secret file: the config loads");
		is_int(c.has_callback_secret, 0, "without a callback secret");
		f = fopen(kp, "w");
		fputs("0123456789abcdef-secret \n\n", f);
		fclose(f);
		chmod(kp, 0600);
		is_int(load_text(&c, text, err, sizeof(err)), 0,
		    "with the file: loads (%s)", err);
		ok(c.has_callback_secret && c.callback_key_len == 23 &&
		    memcmp(c.callback_key, "0123456789abcdef-secret", 23) == 0,
		    "the key is the file's text without trailing blanks");
		chmod(kp, 0640);
		is_int(load_text(&c, text, err, sizeof(err)), -1,
		    "a group-readable secret file: refused");
		ok(strstr(err, "chmod 0600") != NULL, "says why: %s", err);
		chmod(kp, 0600);
		f = fopen(kp, "w");
		fputs("short\n", f);
		fclose(f);
		is_int(load_text(&c, text, err, sizeof(err)), -1,
		    "a secret of 5 bytes: refused");
		ok(strstr(err, "from 16 to 512 bytes") != NULL, "says why: %s",
		    err);
		snprintf(text, sizeof(text), "[callbacks]\n"
		    "callback_secret_file = %s\n"
		    "callback_secret = inline-secret-0123456789\n", kp);
		is_int(load_text(&c, text, err, sizeof(err)), 0,
		    "callback_secret set: the file is not read");
		ok(c.has_callback_secret && c.callback_key_len == 24,
		    "the key is callback_secret");
		unlink(kp);
		rmdir(kdir);
		is_int(load_text(&c, "[callbacks]\ncallback_secret = x\n", err,
		    sizeof(err)), -1, "a callback_secret of 1 byte: refused");
		is_int(load_text(&c, "[callbacks]\ncallback_secret_file = s\n",
		    err, sizeof(err)), -1, "a relative secret path: refused");
		ok(strstr(err, "absolute path") != NULL, "says why: %s", err);
		is_int(load_text(&c, "[callbacks]\ncallback_allow_hosts = "
		    "a.example, *.b.example:8443 [::1]:9000\n", err,
		    sizeof(err)), 0, "an allow list loads");
		is_int(load_text(&c, "[callbacks]\ncallback_allow_hosts = "
		    "a.example, http://b.example/\n", err, sizeof(err)), -1,
		    "an allow list with a URL in it: refused");
		ok(strstr(err, "\"http://b.example/\"") != NULL,
		    "names the entry: %s", err);
		is_int(load_text(&c, "[callbacks]\ncallback_concurrency = 0\n",
		    err, sizeof(err)), -1, "callback_concurrency 0: refused");
	}

	conf_free(&c);
	conf_defaults(&c);
	is_int(conf_load(&c, "/nonexistent/x.conf", err, sizeof(err)), -1,
	    "missing file refused");
	ok(strstr(err, "cannot open") != NULL, "message says so: %s", err);
	conf_free(&c);
	unlink(path);
	return done_testing();
}
