/*
 * test-deliveries.c - the claim of callback deliveries (store_deliveries.c)
 * exposed to the integration tests (test_callbacks.py), which run it
 * against a database of their own (the stack's config with another
 * [database] name), so that no sender of the stack takes part:
 *
 *   test-deliveries CONF race PROCS MAX
 *	PROCS processes, each with a connection of its own, claim up to MAX
 *	due deliveries at a time (a new token per claim) until three claims
 *	in a row find none. For each delivery claimed: "claimed PROC ID
 *	ATTEMPTS", then its record as delivered under that claim's token:
 *	"recorded ID 0|1".
 *   test-deliveries CONF once MAX
 *	One claim of up to MAX: "claimed ID TOKEN" for each, then "took MS".
 *   test-deliveries CONF record ID TOKEN STATUS
 *	Records an outcome under a token: "recorded 0|1".
 *
 * Exit status 0 unless the database failed ("error: ..." on stderr).
 */
#include "config.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "store.h"

static unsigned long long
new_token(void)
{
	unsigned long long t;

	do {
		randombytes_buf(&t, sizeof(t));
		t &= 0x7fffffffffffffffULL;
	} while (t == 0);
	return t;
}

static struct db *
open_db(const struct conf *c)
{
	struct db *db = db_new(c);

	if (db_connect(db) == -1) {
		fprintf(stderr, "error: %s\n", db_errmsg(db));
		exit(1);
	}
	return db;
}

/* One racing process: claims until three claims in a row find none. */
static int
racer(const struct conf *c, int proc, size_t max)
{
	struct delivery_claim cl[STORE_DELIVERY_CLAIM_MAX];
	struct db *db = open_db(c);
	int empty = 0;
	size_t n;

	while (empty < 3) {
		unsigned long long token = new_token();

		if (store_delivery_claim(db, token, 60, max, cl, &n) == -1) {
			fprintf(stderr, "error: claim: %s\n", db_errmsg(db));
			return 1;
		}
		if (n == 0) {
			empty++;
			usleep(20 * 1000);
			continue;
		}
		empty = 0;
		for (size_t i = 0; i < n; i++) {
			int rec = 0;
			printf("claimed %d %lld %u\n", proc, cl[i].id,
			    cl[i].attempts);
			if (store_delivery_record(db, cl[i].id, token,
			    "delivered", 200, NULL, 0, &rec) == -1) {
				fprintf(stderr, "error: record: %s\n",
				    db_errmsg(db));
				return 1;
			}
			printf("recorded %lld %d\n", cl[i].id, rec);
			free(cl[i].url);
		}
		fflush(stdout);
	}
	db_close(db);
	return 0;
}

int
main(int argc, char **argv)
{
	struct conf c;
	char err[512];

	log_init(LOG_LVL_WARN, "test");
	if (argc < 3) {
		fprintf(stderr, "usage: test-deliveries CONF race PROCS MAX | "
		    "once MAX | record ID TOKEN STATUS\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	conf_defaults(&c);
	if (conf_load(&c, argv[1], err, sizeof(err)) == -1) {
		fprintf(stderr, "error: %s\n", err);
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[2], "race") == 0 && argc == 5) {
		int procs = atoi(argv[3]), bad = 0, st;
		size_t max = (size_t)atoi(argv[4]);

		for (int i = 0; i < procs; i++) {
			pid_t pid = fork();
			if (pid == -1)
				return 1;
			if (pid == 0)
				_exit(racer(&c, i, max));
		}
		for (int i = 0; i < procs; i++)
			if (wait(&st) == -1 || !WIFEXITED(st) ||
			    WEXITSTATUS(st) != 0)
				bad = 1;
		return bad;
	}
	if (strcmp(argv[2], "once") == 0 && argc == 4) {
		struct delivery_claim cl[STORE_DELIVERY_CLAIM_MAX];
		struct db *db = open_db(&c);
		unsigned long long token = new_token();
		double t0 = clock_mono_ms();
		size_t n;

		if (store_delivery_claim(db, token, 60, (size_t)atoi(argv[3]),
		    cl, &n) == -1) {
			fprintf(stderr, "error: claim: %s\n", db_errmsg(db));
			return 1;
		}
		for (size_t i = 0; i < n; i++) {
			printf("claimed %lld %llu\n", cl[i].id, token);
			free(cl[i].url);
		}
		printf("took %.0f\n", clock_mono_ms() - t0);
		db_close(db);
		return 0;
	}
	if (strcmp(argv[2], "record") == 0 && argc == 6) {
		struct db *db = open_db(&c);
		int rec = 0;

		if (store_delivery_record(db, atoll(argv[3]),
		    strtoull(argv[4], NULL, 10), argv[5], 200, NULL, 1000,
		    &rec) == -1) {
			fprintf(stderr, "error: record: %s\n", db_errmsg(db));
			return 1;
		}
		printf("recorded %d\n", rec);
		db_close(db);
		return 0;
	}
	fprintf(stderr, "test-deliveries: bad arguments\n");
	return 2;
}
