/*
 * run.h - one run of a script: the product's rules on either side of the
 * executor.
 *
 * A runner that owns an execution (runner.c: claimed, or inserted running
 * for it) gives a struct run the execution's id, its script and its
 * input; the run turns them into the executor's spec, and the executor's
 * result into the final record. The runner keeps what is about owning
 * and recording (the claim, the hooks that save live output, the write
 * of the record, the answer left for a waiting caller). In order:
 *
 *   run_init         the execution (id, configuration)
 *   run_load         its script: the one the runner read already, or read
 *                    now; its version recomputed from the file (database)
 *   run_parse        the stored input and the script's args, env, outputs;
 *                    the secrets opened (secret inputs merged back into
 *                    the input, secret_env added to the env) and the
 *                    mask of their values made
 *   run_venv         a python script's venv, built if need be, held for
 *                    the run (database; the runner owns the row first)
 *   run_workdir      a fresh work dir owned by the run user
 *   run_spec         r->spec: the program (the venv's python, the #! line
 *                    of a shell script, /bin/sh, or a binary itself) and
 *                    its arguments from the args template; the environment
 *                    built from nothing; the input on stdin; the limits
 *                    (the script's over the config's defaults, within the
 *                    config's maxima: runlimits.h), the network, and
 *                    (config isolation) what the run sees of the host:
 *                    the daemon's paths hidden (conf_private_paths), its
 *                    work dir kept, the script roots and its venv kept
 *                    read-only (exec.h, struct exec_isolation)
 *   exec_run(&r->spec, hooks, &r->res, ...)   the runner's, with its hooks
 *   run_result       r->final from r->res: the status, captures, resource
 *                    use, outputs.stdout = json, the output file, the
 *                    error text, the limit that stopped it, the end time;
 *                    every secret value in them replaced by "***"
 *                    (r->mask)
 *   run_drop_workdir the work dir goes before the record is written
 *   run_release      frees everything; a work dir still there goes too
 *
 * Steps return 0, or -1 with r->error saying why in one sentence; the
 * runner then records the end with run_error_final(). No step records
 * anything in the database.
 *
 * Ownership: struct run owns everything its steps allocate, the script
 * included; run_release() frees it all, whatever step it stopped at, and
 * leaves the struct to run_init() again. r->final points into the run:
 * it is valid until run_release().
 */
#ifndef SCRIPTORCH_RUN_H
#define SCRIPTORCH_RUN_H

#include <sys/types.h>
#include <yajl/yajl_tree.h>

#include "buf.h"
#include "conf.h"
#include "exec.h"
#include "registry.h"
#include "secret.h"
#include "runlimits.h"
#include "store.h"
#include "venv.h"

/* The PATH of every run (a python script's venv's bin comes first): also
 * where the marketplace looks for the tools an item needs. */
#define RUN_FIXED_PATH "/usr/local/bin:/usr/bin:/bin"

struct conf;
struct db;
struct sandbox;
struct shm;

struct run {
	const struct conf *c;       /* borrowed */
	long long id;
	char idtext[32];            /* the id in decimal, for env and args */

	struct script s;            /* owned */
	int version_known;          /* s.version is what runs (the record's) */
	yajl_val input, args, env, outputs;     /* owned parses; input and
	                                         * env with their secrets */
	struct secret_mask mask;    /* the run's secret values (run_parse) */
	const char *outfile_rel;    /* outputs.file (in `outputs`), or NULL */
	struct venv_ready venv;     /* python: dir, interpreter, held lock */
	char *workdir;              /* owned; NULL before run_workdir */
	int workdir_gone;           /* removed (or kept by keep_workdirs) */
	struct sandbox *wd_sb;      /* borrowed: whose spares it came from */

	/* What the spec points to. */
	struct buf outfile_abs;     /* <workdir>/<outputs.file> */
	struct buf venv_env, venv_path;
	const char *extra_env[2];
	char **envp;
	struct buf stdin_data;
	char **tplv;                /* the expanded args template */
	char *prog, *pre[3];        /* the program, arguments before the path */
	char **argv;                /* pointers into prog, pre, s.path, tplv */
	struct run_limits limits;   /* the run's own (run_spec) */
	struct exec_limits lim;
	struct exec_isolation iso;  /* spec.isolation, unless turned off */
	const char *hide[CONF_MAX_PRIVATE + 1];     /* into r->c */
	const char *keep[2], *keep_ro[CONF_MAX_ROOTS + 2];
	struct exec_spec spec;

	struct exec_result res;     /* exec_run fills it; freed here */

	/* What the record points to. */
	struct buf out, err, ofile, output_json;
	struct buf error;           /* why a step failed; the record's error */
	struct execution_final final;
};

/* Starts a run of execution `id`. Allocates nothing. */
void run_init(struct run *r, const struct conf *c, long long id);
/* Takes script *s over (*s is left empty): for run_load's caller that
 * holds a script, and for tests. */
void run_take_script(struct run *r, struct script *s);
/*
 * The script: *loaded when not NULL (taken over, left empty), else script
 * `script_id` read from the database; then its version, recomputed from
 * the file when it changed (registry_refresh_version, with the runner's
 * `versions` memory). -1 when it was deleted, cannot run, or the database
 * failed.
 */
int run_load(struct run *r, struct db *db, struct version_memo *versions,
    long long script_id, struct script *loaded);
/*
 * Parses the execution's stored input (JSON text) and the script's args,
 * env and outputs. `input_secret` (NULL: none) is the sealed JSON object
 * of the input's secret properties (executions.input_secret): opened
 * with the node's key (r->c) and merged back, each in place of its "***".
 * The script's secret_env values are opened and added to the env (names
 * never collide: scriptfields.h). Every secret value goes into r->mask.
 * -1 with r->error when one does not open (no key, another key, altered).
 */
int run_parse(struct run *r, const char *input_json, const char *input_secret);
/*
 * Adds to `m` what may show a secret value `v`: a string as it is and as
 * a JSON string's text ("a\"b" for a"b) when that differs; any other
 * value as its compact JSON text, and the strings inside it.
 */
void run_mask_value(struct secret_mask *m, yajl_val v);
/*
 * Masks JSON text `json` (len bytes) with `m` into `out`: 0 when the
 * result still parses (it is written compact), else -1 with nothing
 * written. For `output`, whose stdout was masked before it was parsed:
 * parsing undoes escapes, which could bring a value back.
 */
int run_mask_json(const struct secret_mask *m, const char *json, size_t len,
    struct buf *out);
/*
 * The input as the child gets it: `input` (the stored object, "***" in
 * place of each secret property) with the values of object `secret` put
 * back in their places (one that has none is added at the end), as
 * compact JSON appended to `out`.
 */
void run_merge_secret_input(yajl_val input, yajl_val secret, struct buf *out);
/* 1 for a python script: run_venv before run_workdir. */
int run_is_python(const struct run *r);
/* Makes sure the script's venv is ready (heart-beating the execution
 * while it builds) and holds it for the run (venv.h). `shm` may be
 * NULL. */
int run_venv(struct run *r, struct db *db, struct shm *shm);
/* Creates the run's work dir under the configured work_dir, owned by
 * uid:gid ((uid_t)-1: unchanged): the one `sb` (may be NULL) made ahead
 * when it has one (sandbox_workdir_take). */
int run_workdir(struct run *r, struct sandbox *sb, uid_t uid, gid_t gid);
/* Builds r->spec for running as uid:gid in `sb` (may be NULL), after
 * run_parse, run_workdir (and run_venv for python: its dir and python
 * give the program, PATH and VIRTUAL_ENV). */
int run_spec(struct run *r, uid_t uid, gid_t gid, struct sandbox *sb);
/*
 * r->final from r->res, once exec_run returned 0 (the child was reaped:
 * that is the end time). `exec_mono_ms` is clock_mono_ms() when the child
 * was exec'd (the started hook). Reads the output file from the work dir,
 * so call it before run_drop_workdir.
 *
 * A limit the run hit (res.limit; or, for a failed run with a file size
 * limit, a file of that size left in its work dir: a program that ignores
 * SIGXFSZ, as Python does, fails on EFBIG instead): when the run failed,
 * final.limit names it and the error starts with it ("memory limit of
 * 512 MB exceeded"); when it succeeded, timed out or was canceled, the
 * limit is null and the error notes it ("... exceeded during the run,
 * which went on"): the status is what the script made of it.
 */
void run_result(struct run *r, double exec_mono_ms);
/* r->final for a run that ends `error` with r->error, now. */
void run_error_final(struct run *r);
/* Appends a printf-formatted sentence to r->error (for a failure found
 * outside the steps, such as exec_run's). */
void run_errorf(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Removes the work dir unless keep_workdirs is set; once: from its path
 * at once, the rest between runs where its sandbox keeps spares
 * (sandbox_workdir_drop). A failure is logged. */
void run_drop_workdir(struct run *r);
/* Frees everything the run holds (the venv lock, the work dir if it is
 * still there). The struct may be given to run_init() again. */
void run_release(struct run *r);

/* ---- the pure rules, for the steps above and for tests ---- */

enum run_shebang {
	RUN_SHEBANG_NONE,           /* no #! line: /bin/sh runs the script */
	RUN_SHEBANG_OK,             /* *interp, and *arg or NULL */
	RUN_SHEBANG_LONG,           /* no end of line in the bytes read */
	RUN_SHEBANG_RELATIVE,       /* the interpreter is not an absolute path */
};
/* How much of a script is read for its #! line: this, less its NUL. */
#define RUN_SHEBANG_HEAD 256
/*
 * The #! line of a script whose first `len` bytes are in `head`
 * (NUL-terminated, changed in place). As the kernel reads it: the
 * interpreter, then at most one argument made of the rest of the line,
 * blanks around it dropped (and a \r at its end). *interp and *arg
 * point into head.
 */
enum run_shebang run_shebang_parse(char *head, size_t len, char **interp,
    char **arg);
/* The status the API gives a run the executor reported on: canceled,
 * timed_out, succeeded (exit 0) or failed. */
const char *run_status(const struct exec_result *res);
/*
 * outputs.stdout = json: the stdout of a run (`len` bytes, `truncated` by
 * the capture) parsed and written compact into `json`: 0. When it is no
 * JSON, or was truncated: -1, and "stdout is not valid JSON: <why>" is
 * added to `why` (after "; " when `why` holds something).
 */
int run_stdout_json(const char *out, size_t len, int truncated,
    struct buf *json, struct buf *why);

#endif
