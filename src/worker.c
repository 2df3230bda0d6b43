/*
 * worker.c - the API worker's accept loop.
 *
 * libfcgi retries accept() on EINTR unless the request was initialised
 * with FCGI_FAIL_ACCEPT_ON_INTR; with it, and a SIGTERM handler installed
 * without SA_RESTART, an idle worker leaves accept() at once on SIGTERM
 * while a busy one finishes its request first.
 */
#include "config.h"

#include <errno.h>
#include <fcgiapp.h>
#include <magic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "registry.h"
#include "request.h"
#include "router.h"
#include "worker.h"

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

void
worker_main(const struct conf *c, int listen_fd, struct shm *shm)
{
	struct worker_ctx ctx;
	struct token_cache tokens;
	struct script_memo scripts;
	struct sigaction sa;
	FCGX_Request fcgi;
	struct request r;
	magic_t magic;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;        /* no SA_RESTART: interrupt accept() */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* libmagic opens its database per process, after fork. */
	magic = magic_open(MAGIC_NONE);
	if (magic == NULL || magic_load(magic, NULL) == -1)
		log_warnx("libmagic unavailable: %s",
		    magic ? magic_error(magic) : "magic_open failed");
	memset(&ctx, 0, sizeof(ctx));
	ctx.conf = c;
	ctx.db = db_new(c);
	ctx.shm = shm;
	ctx.magic = magic;
	memset(&tokens, 0, sizeof(tokens));
	ctx.tokens = &tokens;
	memset(&scripts, 0, sizeof(scripts));
	ctx.scripts = &scripts;
	ctx.stopping = &stopping;
	if (db_connect(ctx.db) == -1)
		log_warnx("database not reachable yet: %s", db_errmsg(ctx.db));

	if (FCGX_InitRequest(&fcgi, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
		fatalx("FCGX_InitRequest failed");
	log_info("api worker ready");
	while (!stopping) {
		if (FCGX_Accept_r(&fcgi) < 0) {
			if (stopping)
				break;
			if (errno == EINTR)
				continue;
			log_warn("accept on the FastCGI socket");
			usleep(100 * 1000);
			continue;
		}
		if (request_init(&r, &fcgi, &ctx) == 0)
			router_dispatch(&r);
		request_cleanup(&r);
		FCGX_Finish_r(&fcgi);
	}
	log_info("api worker stopping");
	registry_memo_free(&scripts);
	db_close(ctx.db);
	if (magic != NULL)
		magic_close(magic);
	_exit(0);
}
