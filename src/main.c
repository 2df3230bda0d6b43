/*
 * main.c - scriptorchd: the daemon and its admin commands.
 *
 *   scriptorchd [-c FILE] [run]              run the daemon (foreground)
 *   scriptorchd [-c FILE] migrate [--dir D]  apply database migrations
 *   scriptorchd [-c FILE] token create --name N --role R
 *   scriptorchd [-c FILE] token list | token revoke ID
 *   scriptorchd [-c FILE] script add|list|show|versions|disable|enable|rm ...
 *   scriptorchd [-c FILE] venv list | venv show ID | venv rm ID | venv prune
 *   scriptorchd [-c FILE] check-config
 */
#include "config.h"

#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cli.h"
#include "conf.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "master.h"
#include "store.h"
#include "venv.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: scriptorchd [-c FILE] [-d] [COMMAND]\n"
	    "  (no command) | run           run the daemon in the foreground\n"
	    "  migrate [--dir DIR]          apply the SQL migrations\n"
	    "  token create --name NAME --role admin|operator|viewer\n"
	    "  token list\n"
	    "  token revoke ID\n"
	    "  script add --name N --type shell|python|binary --path P [...]\n"
	    "  script list [--type T] [--enabled true|false] [--q TEXT]\n"
	    "  script show|versions|disable|enable|rm ID|NAME\n"
	    "  venv list | show ID | rm ID  python venvs; rm evicts one\n"
	    "  venv prune                   evict by max_cache_bytes/max_age_days\n"
	    "  check-config                 load and validate the config\n"
	    "options:\n"
	    "  -c FILE   config file (default %s)\n"
	    "  -d        debug logging\n", CONF_DEFAULT_PATH);
}

static struct db *
cli_db(const struct conf *c)
{
	struct db *db = db_new(c);

	if (db_connect(db) == -1) {
		fprintf(stderr, "scriptorchd: cannot connect to the database: "
		    "%s\n", db_errmsg(db));
		exit(1);
	}
	return db;
}

static int
cmd_migrate(const struct conf *c, int argc, char **argv)
{
	const char *dir = PKGDATADIR "/sql";
	char err[1024];
	int applied;
	struct db *db;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else {
			fprintf(stderr, "scriptorchd migrate: unknown argument "
			    "\"%s\"\n", argv[i]);
			return 2;
		}
	}
	db = cli_db(c);
	if (store_migrate(db, dir, &applied, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd migrate: %s\n", err);
		db_close(db);
		return 1;
	}
	printf("%d migration%s applied\n", applied, applied == 1 ? "" : "s");
	db_close(db);
	return 0;
}

static void
print_token(void *arg, const struct token_rec *t)
{
	(void)arg;
	printf("%lld\t%s\t%s\t%s\t%s%s\n", t->id, t->name, role_name(t->role),
	    t->created_at, t->last_used_at[0] ? t->last_used_at : "never",
	    t->revoked ? "\trevoked" : "");
}

static int
cmd_token(const struct conf *c, int argc, char **argv)
{
	struct db *db;
	int rc = 1;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "create") == 0) {
		const char *name = NULL, *role_s = NULL;
		enum role role;
		struct token_rec t;
		char plain[TOKEN_TEXT_LEN];

		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
				name = argv[++i];
			else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc)
				role_s = argv[++i];
			else {
				fprintf(stderr, "scriptorchd token create: "
				    "unknown argument \"%s\"\n", argv[i]);
				return 2;
			}
		}
		if (name == NULL || *name == '\0' || strlen(name) > 128) {
			fprintf(stderr, "scriptorchd token create: --name of 1 "
			    "to 128 characters is required\n");
			return 2;
		}
		if (role_parse(role_s, &role) == -1) {
			fprintf(stderr, "scriptorchd token create: --role must "
			    "be admin, operator or viewer\n");
			return 2;
		}
		db = cli_db(c);
		if (auth_token_create(db, name, role, "cli", &t, plain) == 0) {
			printf("%s\n", plain);
			rc = 0;
		} else {
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
		}
		db_close(db);
		return rc;
	}
	if (strcmp(argv[1], "list") == 0) {
		db = cli_db(c);
		rc = store_token_list(db, print_token, NULL) == 0 ? 0 : 1;
		if (rc)
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
		db_close(db);
		return rc;
	}
	if (strcmp(argv[1], "revoke") == 0 && argc == 3) {
		int found;
		db = cli_db(c);
		/* No shared region here: the daemon's workers notice within
		 * a second (auth.h). */
		if (auth_token_revoke(db, NULL, strtoll(argv[2], NULL, 10),
		    "cli", &found) == -1)
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
		else if (!found)
			fprintf(stderr, "scriptorchd: no token %s\n", argv[2]);
		else
			rc = 0;
		db_close(db);
		return rc;
	}
	usage(stderr);
	return 2;
}

static void
print_venv(void *arg, const struct venv_rec *v, const long long *scripts,
    size_t n)
{
	(void)arg;
	printf("%lld\t%.12s\t%s\t%-8s\t%lld\t%s\t", v->id, v->key, v->python,
	    v->status, v->size_bytes, v->last_used_at[0] ? v->last_used_at :
	    "-");
	for (size_t i = 0; i < n; i++)
		printf("%s%lld", i ? "," : "", scripts[i]);
	printf("%s\n", n ? "" : "-");
}

/* `scriptorchd venv ...`: the same services as /api/v1/admin/venvs. */
static int
cmd_venv(const struct conf *c, int argc, char **argv)
{
	struct db *db;
	struct buf why = BUF_INIT, out = BUF_INIT;
	struct venv_rec v;
	struct jw w;
	long long *scripts, id = argc == 3 ? strtoll(argv[2], NULL, 10) : 0;
	size_t n;
	int rc = 1, evicted;

	if (argc == 2 && strcmp(argv[1], "list") == 0) {
		db = cli_db(c);
		printf("id\tkey\tpython\tstatus  \tsize\tlast_used_at\t"
		    "scripts\n");
		if (venv_list(db, c, print_venv, NULL) == 0)
			rc = 0;
		else
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
	} else if (argc == 3 && id > 0 && strcmp(argv[1], "show") == 0) {
		db = cli_db(c);
		switch (venv_get(db, c, id, &v, &scripts, &n)) {
		case VENV_OK:
			jw_init(&w, &out);
			venv_write_json(&w, c, &v, scripts, n, 1);
			jw_free(&w);
			printf("%s\n", buf_str(&out));
			free(scripts);
			venv_rec_free(&v);
			rc = 0;
			break;
		case VENV_NOT_FOUND:
			fprintf(stderr, "scriptorchd: no venv %lld\n", id);
			break;
		default:
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
		}
	} else if (argc == 3 && id > 0 && strcmp(argv[1], "rm") == 0) {
		db = cli_db(c);
		switch (venv_evict(db, c, id, "cli", &why)) {
		case VENV_OK:
			rc = 0;
			break;
		case VENV_NOT_FOUND:
			fprintf(stderr, "scriptorchd: no venv %lld\n", id);
			break;
		case VENV_BUSY:
			fprintf(stderr, "scriptorchd: venv %lld is in use or "
			    "being built; try again later\n", id);
			break;
		case VENV_FS:
			fprintf(stderr, "scriptorchd: %s\n", buf_str(&why));
			break;
		case VENV_DB:
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
			break;
		}
	} else if (argc == 2 && strcmp(argv[1], "prune") == 0) {
		db = cli_db(c);
		if (venv_prune(db, c, &evicted) == 0) {
			printf("%d venv%s evicted\n", evicted,
			    evicted == 1 ? "" : "s");
			rc = 0;
		} else
			fprintf(stderr, "scriptorchd: %s\n", db_errmsg(db));
	} else {
		usage(stderr);
		return 2;
	}
	db_close(db);
	buf_free(&why);
	buf_free(&out);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *conf_path = CONF_DEFAULT_PATH;
	struct conf *c;
	char err[1024];
	int ch, debug = 0, rc;
	enum log_level lvl;

	log_init(LOG_LVL_INFO, "master");
	while ((ch = getopt(argc, argv, "+c:dh")) != -1) {
		switch (ch) {
		case 'c':
			conf_path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");

	if ((c = calloc(1, sizeof(*c))) == NULL)
		fatal("calloc");
	conf_defaults(c);
	if (conf_load(c, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd: %s\n", err);
		return 1;
	}
	/* The file holds the database password: every command refuses one
	 * that the users scripts and builds run as could read. */
	if (conf_check_mode(c, conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "scriptorchd: %s\n", err);
		return 1;
	}
	if (debug) {
		free(c->log_level);
		c->log_level = strdup("debug");
	}
	if (log_level_parse(c->log_level, &lvl) == 0)
		log_set_level(lvl);

	if (argc == 0 || strcmp(argv[0], "run") == 0)
		rc = master_run(conf_path, c);
	else if (strcmp(argv[0], "migrate") == 0)
		rc = cmd_migrate(c, argc, argv);
	else if (strcmp(argv[0], "token") == 0)
		rc = cmd_token(c, argc, argv);
	else if (strcmp(argv[0], "script") == 0)
		rc = cli_script(c, argc, argv);
	else if (strcmp(argv[0], "venv") == 0)
		rc = cmd_venv(c, argc, argv);
	else if (strcmp(argv[0], "check-config") == 0) {
		printf("%s: ok\n", conf_path);
		rc = 0;
	} else {
		usage(stderr);
		rc = 2;
	}
	conf_free(c);
	free(c);
	return rc;
}
