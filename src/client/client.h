/*
 * client.h - the command-line client `scriptorch`: what its commands share.
 *
 * The client speaks the HTTP API (API.md) with libcurl. main.c reads the
 * command line and the settings (settings.h), fills a struct client and
 * hands it to one command (cmd_run.c, cmd_read.c). A command returns the
 * process's exit status; everything it prints about a failure goes to
 * stderr as "scriptorch: <what>" once, where the failure is found.
 *
 * Ownership: main() owns the struct client (client_init / client_free);
 * commands borrow it.
 */
#ifndef SCRIPTORCH_CLIENT_H
#define SCRIPTORCH_CLIENT_H

#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "http.h"
#include "settings.h"

/* Exit statuses of the client itself (man/scriptorch.1 lists them). A
 * `run` that waits for its execution exits with the script's status
 * instead (client_exit_status). */
enum {
	EXIT_OK = 0,
	EXIT_API = 1,        /* the API answered an error, or an answer the
	                        client cannot use */
	EXIT_CONNECT = 2,    /* no answer: connection, DNS, TLS, timeout */
	EXIT_USAGE = 64,     /* bad command line (sysexits' EX_USAGE) */
	EXIT_CONFIG = 78,    /* settings missing or refused (EX_CONFIG) */
	/* How an execution that did not end with an exit code ends `run
	 * --wait` and `run --follow`; a signal N is 128 + N. */
	EXIT_TIMED_OUT = 124, /* as timeout(1) */
	EXIT_CANCELED = 125,
	EXIT_NOT_STARTED = 126, /* status "error": it could not be started */
	EXIT_LOST = 127,
};

struct client {
	struct settings set;
	struct http http;
	int json;            /* --json: print the API's JSON */
};

/* Prints "scriptorch: <message>" and a newline on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Opens the HTTP session for settings already loaded into c->set.
 * -1 (after saying why) when libcurl cannot start. */
int client_init(struct client *c);
void client_free(struct client *c);

/* Sends one request (body may be NULL) and waits at most timeout_s for
 * the whole answer. Returns 0 when the server answered 2xx: *r holds the
 * answer, the caller frees it with http_resp_free(). Otherwise prints why
 * (the API's error as "scriptorch: <message> (<code>)", a redirect, an
 * answer that is not the API's, or the transport failure with the URL)
 * and returns the exit status: EXIT_API or EXIT_CONNECT; *r is freed. */
int client_call(struct client *c, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r);

/* client_call() for the polls of a run being followed: a transport
 * failure or a 503 (database away) is retried, quietly, for up to
 * `patience_s` seconds before it is reported. */
int client_poll(struct client *c, const char *path, long patience_s,
    struct http_resp *r);

/* Parses an answer's body as a JSON object. NULL (after saying so) when
 * it is not one. The caller frees the tree with yajl_tree_free(). */
yajl_val client_parse(const struct http_resp *r);

/* client_call() for an answer that must be a JSON object: EXIT_OK with
 * *r (free it with http_resp_free) and *v, its body parsed (free it with
 * yajl_tree_free); otherwise the exit status after saying why, with *r
 * freed and *v NULL. */
int client_call_json(struct client *c, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_s, struct http_resp *r,
    yajl_val *v);

/* Writes an answer's body to stdout as it came, ending with a newline
 * (--json). */
void client_print_body(const struct http_resp *r);

/* The exit status that stands for how execution `x` ended: its exit code,
 * 128 + a signal, or one of EXIT_TIMED_OUT, EXIT_CANCELED,
 * EXIT_NOT_STARTED, EXIT_LOST. */
int client_exit_status(yajl_val x);

/* Sleeps that long (EINTR is not an end). */
void client_sleep(double seconds);

/* 1 when status `s` is final (not queued or running). */
int client_status_final(const char *s);

/* URL-escapes `s` for one path segment or query value (caller frees). */
char *client_escape(struct client *c, const char *s);

/* A command's arguments, as main.c read them from the command line
 * (borrowed strings; NULL or 0 when not given). main.c has checked that
 * each option given is one of the command's and that the number of
 * operands is right. */
struct cmd_args {
	char **operands;     /* after the command's name */
	int noperands;
	const char *input;   /* run --input */
	int wait;            /* run --wait */
	int follow;          /* run --follow */
	long wait_slice;     /* run --wait-slice (0: the default) */
	const char *script;  /* executions --script */
	const char *status;  /* executions --status */
	long limit;          /* executions --limit (0: the server's) */
	int stderr_stream;   /* logs --stderr */
	const char *name;    /* marketplace install --name */
	int disabled;        /* marketplace install --disabled */
};

/* Commands: each returns the process's exit status. */
int cmd_run(struct client *c, const struct cmd_args *a);
int cmd_executions(struct client *c, const struct cmd_args *a);
int cmd_show(struct client *c, const struct cmd_args *a);
int cmd_logs(struct client *c, const struct cmd_args *a);
int cmd_cancel(struct client *c, const struct cmd_args *a);
int cmd_scripts(struct client *c, const struct cmd_args *a);
/* cmd_market.c */
int cmd_market_list(struct client *c, const struct cmd_args *a);
int cmd_market_show(struct client *c, const struct cmd_args *a);
int cmd_market_install(struct client *c, const struct cmd_args *a);

/* An execution id operand: 1 with *id set, or 0 after saying why. */
int client_exec_id(const char *s, long long *id);

#endif
