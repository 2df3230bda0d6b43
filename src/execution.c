/*
 * execution.c - the execution service (execution.h): the rules of an
 * execution's life between the API and the store, and the hand-over to
 * this node's runners through dispatch.h.
 */
#include "config.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argtpl.h"
#include "buf.h"
#include "callback.h"
#include "clock.h"
#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "execution.h"
#include "idempotency.h"
#include "json.h"
#include "labels.h"
#include "log.h"
#include "registry.h"
#include "schema.h"
#include "secret.h"
#include "sender.h"
#include "shm.h"
#include "store.h"

/* A submission's Idempotency-Key (execution_submission_idempotent). */
struct idem_sub {
	int on;
	long long token_id;
	char key[IDEM_KEY_MAX + 1];
	unsigned char fp[IDEM_FP_BYTES];
	int in_tx;              /* the execution's transaction is open */
	int tries;              /* inserts lost to another request */
	int replayed;           /* answered with the key's execution */
};

struct execution_submission {
	struct script script;
	struct idem_sub idem;
	/* The submission's callback_url (execution_submission_callback):
	 * CB_SCRIPT, the script's default; CB_NONE, none; CB_GIVEN, `cb_url`
	 * (owned), checked by execution_submit. */
	enum { CB_SCRIPT, CB_NONE, CB_GIVEN } cb;
	char *cb_url;
	/* Every invalid field of its input, once submitted (EXECUTION_INVALID). */
	struct verr_list errors;
	/* As read with the script: 1 full, 0 not, -1 not read (it came
	 * from memory), then probed only for a run that would wait. */
	int queue_full;
	/* Once submitted: what a waiter needs. */
	long long id;
	uint32_t done_seen;     /* its completion word before any runner ran */
	int box;                /* the box of the runner it went to, or -1 */
};

enum execution_outcome
execution_prepare(struct db *db, const struct conf *c, struct shm *shm,
    struct script_memo *memo, long long id, const char *name,
    struct execution_submission **out)
{
	struct execution_submission *sub;
	enum reg_status rs;

	*out = NULL;
	if ((sub = calloc(1, sizeof(*sub))) == NULL)
		fatal("calloc");
	sub->box = -1;
	rs = registry_load_for_submit(db, memo, atomic_load(&shm->script_gen),
	    id, name, c->queue_max_depth, &sub->script, &sub->queue_full);
	if (rs != REG_OK) {
		execution_submission_free(sub);
		return rs == REG_NOT_FOUND ? EXECUTION_NOT_FOUND : EXECUTION_DB;
	}
	*out = sub;
	return EXECUTION_OK;
}

void
execution_submission_free(struct execution_submission *sub)
{
	if (sub == NULL)
		return;
	script_free(&sub->script);
	free(sub->cb_url);
	verr_list_free(&sub->errors);
	free(sub);
}

static int
has_output_file(const struct script *s)
{
	char err[64];
	yajl_val o = json_parse(s->outputs_json, strlen(s->outputs_json), err,
	    sizeof(err));
	int has = json_get_str(o, "file") != NULL;

	yajl_tree_free(o);
	return has;
}

/*
 * A message about the input must not show a secret property's value (the
 * schema's type errors quote a number): each one there becomes "***".
 */
static void
mask_message(yajl_val schema, yajl_val input, struct verr *e)
{
	struct secret_mask m = SECRET_MASK_INIT;
	struct buf out = BUF_INIT;

	for (size_t i = 0; YAJL_IS_OBJECT(input) && i < input->u.object.len;
	    i++) {
		yajl_val v = input->u.object.values[i];

		if (!schema_prop_secret(schema, input->u.object.keys[i]))
			continue;
		if (YAJL_IS_STRING(v))
			secret_mask_add(&m, v->u.string, strlen(v->u.string));
		else if (YAJL_IS_NUMBER(v) && v->u.number.r != NULL)
			secret_mask_add(&m, v->u.number.r,
			    strlen(v->u.number.r));
	}
	if (secret_mask_apply(&m, e->message, strlen(e->message), 0,
	    &out) > 0)
		verr_set(e, e->field, "%s", buf_str(&out));
	buf_free(&out);
	secret_mask_free(&m);
}

enum execution_outcome
execution_check_input(const struct script *s, yajl_val input,
    struct verr *e)
{
	return execution_check_input_all(s, input, e, NULL);
}

enum execution_outcome
execution_check_input_all(const struct script *s, yajl_val input,
    struct verr *e, struct verr_list *all)
{
	enum execution_outcome rc = EXECUTION_INVALID;
	yajl_val schema = NULL, args = NULL;
	char err[256];
	int bad = 0;

	if (!s->enabled) {
		verr_set(e, "", "script \"%s\" is disabled", s->name);
		return EXECUTION_CONFLICT;
	}
	if (input != NULL && !YAJL_IS_OBJECT(input)) {
		verr_set(e, "input", "input must be a JSON object");
		return EXECUTION_INVALID;
	}
	if (s->inputs_json != NULL) {
		schema = json_parse(s->inputs_json, strlen(s->inputs_json), err,
		    sizeof(err));
		if (schema != NULL && !YAJL_IS_NULL(schema)) {
			struct yajl_val_s empty;
			memset(&empty, 0, sizeof(empty));
			empty.type = yajl_t_object;
			if (schema_validate_all(schema, input ? input : &empty,
			    "input", e, all) == -1) {
				mask_message(schema, input, e);
				for (size_t i = 0; all != NULL && i < all->n;
				    i++)
					mask_message(schema, input, &all->v[i]);
				if (all == NULL || all->n == 0)
					goto out;
				bad = 1;
			}
		}
	}
	args = json_parse(s->args_json, strlen(s->args_json), err, sizeof(err));
	if (args == NULL) {
		verr_set(e, "args", "the script's args are not valid JSON: %s",
		    err);
		goto out;
	}
	/* The placeholders' own needs, after the schema's: a field the
	 * schema found at fault is not named again. */
	if (all != NULL) {
		struct verr more;
		size_t had = all->n;

		verr_clear(&more);
		if (argtpl_check_input_all(args, input, has_output_file(s),
		    &more, all) == -1) {
			/* An error of the template itself is not listed. */
			if (all->n == had)
				verr_list_add(all, &more);
			bad = 1;
		}
		if (bad) {
			*e = all->v[0];
			goto out;
		}
	} else if (argtpl_check_input(args, input, has_output_file(s),
	    e) == -1)
		goto out;
	rc = EXECUTION_OK;
out:
	yajl_tree_free(schema);
	yajl_tree_free(args);
	return rc;
}

/*
 * The input a run gets: what the caller sent, with each missing
 * top-level property that has a "default" in the script's inputs schema
 * filled (schema_apply_defaults). *filled is NULL when nothing was
 * filled (the caller's input stands), else a new tree the caller frees.
 * Only schemas that name a default are parsed here.
 */
static enum execution_outcome
input_with_defaults(const struct script *s, yajl_val input, yajl_val *filled,
    struct verr *e)
{
	yajl_val schema;
	int n;

	*filled = NULL;
	if (s->inputs_json == NULL || strstr(s->inputs_json, "\"default\"") ==
	    NULL)
		return EXECUTION_OK;
	schema = json_parse(s->inputs_json, strlen(s->inputs_json), NULL, 0);
	n = schema_apply_defaults(schema, input, filled, e);
	yajl_tree_free(schema);
	return n < 0 ? EXECUTION_INVALID : EXECUTION_OK;
}

/*
 * The input as it is stored: its compact JSON in `shown`, with "***" for
 * each secret property (schema.h), whose values go sealed under the
 * node's key into `sealed` (left empty when there are none). A secret
 * input with no key to seal it under is refused (EXECUTION_INVALID).
 */
static enum execution_outcome
input_stored(const struct conf *c, const struct script *s, yajl_val input,
    struct buf *shown, struct buf *sealed, struct verr *e)
{
	struct buf secret = BUF_INIT;
	yajl_val schema = NULL;
	int n;

	if (input == NULL) {
		buf_adds(shown, "{}");
		return EXECUTION_OK;
	}
	if (s->inputs_json != NULL)
		schema = json_parse(s->inputs_json, strlen(s->inputs_json),
		    NULL, 0);
	n = schema_split_secret(schema, input, shown, &secret);
	yajl_tree_free(schema);
	if (n > 0 && !c->has_secret_key) {
		verr_set(e, "input", "this script's secret inputs cannot be "
		    "accepted: this node has no secret key to seal them with "
		    "(the file \"%s\" does not exist)", c->secret_key_file);
		sodium_memzero(secret.data, secret.len);
		buf_free(&secret);
		return EXECUTION_INVALID;
	}
	if (n > 0)
		secret_seal(&c->secret_key, secret.data, secret.len, sealed);
	if (secret.data != NULL)
		sodium_memzero(secret.data, secret.len);
	buf_free(&secret);
	return EXECUTION_OK;
}

/* ---- Completion callbacks (issue 17; callback.h, sender.h) ---- */

void
execution_submission_callback(struct execution_submission *sub, int given,
    const char *url)
{
	free(sub->cb_url);
	sub->cb_url = NULL;
	if (!given) {
		sub->cb = CB_SCRIPT;
	} else if (url == NULL) {
		sub->cb = CB_NONE;
	} else {
		sub->cb = CB_GIVEN;
		sub->cb_url = xstrdup(url);
	}
}

/*
 * The URL the execution's delivery goes to, into `url` (left empty when
 * there is none): the submission's, checked against callback_allow_hosts
 * and stored as libcurl normalizes it (a URL refused, or any URL on a
 * node without a callback secret, is EXECUTION_INVALID), or the script's
 * default, checked when the script was written (the sender checks it
 * again before each attempt, against the config of its day).
 */
static enum execution_outcome
callback_of(const struct conf *c, const struct execution_submission *sub,
    struct buf *url, struct verr *e)
{
	char err[512];

	switch (sub->cb) {
	case CB_NONE:
		return EXECUTION_OK;
	case CB_SCRIPT:
		if (sub->script.callback_url != NULL)
			buf_adds(url, sub->script.callback_url);
		return EXECUTION_OK;
	case CB_GIVEN:
		break;
	}
	if (!c->has_callback_secret) {
		verr_set(e, "callback_url", "callback_url cannot be accepted: "
		    "this node has no callback secret to sign callbacks with "
		    "(callback_secret, or the file \"%s\")",
		    c->callback_secret_file);
		return EXECUTION_INVALID;
	}
	if (callback_url_check(sub->cb_url, c->callback_allow_hosts, url, err,
	    sizeof(err)) == -1) {
		verr_set(e, "callback_url", "%s", err);
		return EXECUTION_INVALID;
	}
	return EXECUTION_OK;
}

/* ---- A statement in doubt: a COMMIT, a submission's INSERT alone ---- */

/* How long a statement in doubt is asked after (settle), at most. */
#define SETTLE_MS 3000.0

/*
 * A statement that failed with its connection (DB_EUNAVAIL: the server or
 * the network went between the server's receiving it and our reading its
 * answer, a Galera failover) may have committed all the same: a COMMIT of
 * a transaction that inserted execution `id` (id > 0), or a submission's
 * INSERT alone, whose id never came back (id 0), and whose row carries
 * the submission's `nonce`. The row tells: read on a fresh connection
 * (db_begin reconnects; with a list of servers, to the first one up) with
 * a lock that waits for a commit still under way, for at most SETTLE_MS.
 * Answering 503 for a row that did commit would break the contract (503:
 * nothing was done): a row reserved for a runner would end `lost` without
 * having run (the runner is let go, or told "not committed"), any other
 * would run for a request its client believes failed and retries. 1
 * committed (*found: its id; with `row`, not NULL, an INSERT's row as it
 * is now, which the caller frees), 0 not, -1 not known (the database
 * stayed away); on 0 and -1 db's error is the statement's again
 * (DB_EUNAVAIL: 503).
 */
static int
settle(struct db *db, long long id, long long nonce, long long *found,
    struct execution *row)
{
	double until = clock_mono_ms() + SETTLE_MS;
	char why[256], status[16];
	int rc = -1;

	snprintf(why, sizeof(why), "%s", db_errmsg(db));
	*found = 0;
	for (;;) {
		if (db_begin(db) == 0 && (id > 0 ?
		    store_execution_status_settled(db, id, status) :
		    store_execution_find_submitted(db, nonce, found,
		    row)) == 0) {
			if (id > 0 && status[0] != '\0')
				*found = id;
			rc = *found > 0;
			break;
		}
		if (clock_mono_ms() > until)
			break;
		usleep(100 * 1000);
	}
	if (id > 0)
		log_info("execution %lld: the answer to its COMMIT was lost "
		    "(%s); read again: %s", id, why, rc == 1 ? "committed" :
		    rc == 0 ? "not committed" : "not known");
	else if (rc == 1)
		log_info("execution %lld: the answer to its INSERT was lost "
		    "(%s); found again by its nonce", *found, why);
	else
		log_info("a submission's INSERT lost its answer (%s); looked "
		    "up by its nonce: %s", why, rc == 0 ? "not inserted" :
		    "not known");
	if (rc != 1)
		db_fail_as(db, DB_EUNAVAIL, why);
	return rc;
}

/* A COMMIT in doubt of a transaction that inserted execution `id`. */
static int
commit_settle(struct db *db, long long id)
{
	long long found;

	return settle(db, id, 0, &found, NULL);
}

/* ---- Idempotency-Key (issue 17; the SQL is store_idempotency.c) ---- */

/* Inserts lost to other requests (or deadlocks) before giving up. */
#define IDEM_TRIES 5

void
execution_submission_idempotent(struct execution_submission *sub,
    long long token_id, const char *key, yajl_val body)
{
	struct idem_sub *k = &sub->idem;

	if (strlen(key) > IDEM_KEY_MAX)
		fatalx("execution_submission_idempotent: an unchecked key");
	k->on = 1;
	k->token_id = token_id;
	memcpy(k->key, key, strlen(key) + 1);
	idem_fingerprint(sub->script.id, body, k->fp);
}

int
execution_replayed(const struct execution_submission *sub)
{
	return sub->idem.replayed;
}

const struct verr_list *
execution_submission_errors(const struct execution_submission *sub)
{
	return &sub->errors;
}

/*
 * Answers a keyed submission from its key's row when there is one: 1
 * with *rc set (EXECUTION_OK: the key's execution, *id, and *queued, when not
 * NULL, as it is now; EXECUTION_CONFLICT: the key came with another script or
 * body, or its execution is gone; EXECUTION_DB), 0 when the key is not known
 * (or the submission has none).
 */
static int
idem_known(struct db *db, struct execution_submission *sub,
    struct execution *queued, long long *id, struct verr *e,
    enum execution_outcome *rc)
{
	struct idem_sub *k = &sub->idem;
	unsigned char fp[IDEM_FP_BYTES];
	long long xid;
	char status[16];
	int found;

	if (!k->on)
		return 0;
	*id = 0;
	*rc = EXECUTION_DB;
	if (store_idem_get(db, k->token_id, k->key, IDEM_TTL_S, fp, &xid,
	    &found) == -1)
		return 1;
	if (!found)
		return 0;
	if (memcmp(fp, k->fp, sizeof(fp)) != 0) {
		verr_set(e, IDEM_HEADER, IDEM_HEADER " \"%s\" was used for "
		    "execution %lld, with another script or body", k->key, xid);
		*rc = EXECUTION_CONFLICT;
		return 1;
	}
	if (queued != NULL) {
		if (store_execution_get(db, xid, queued, &found) == -1)
			return 1;
	} else {
		if (store_execution_status(db, xid, status) == -1)
			return 1;
		found = status[0] != '\0';
	}
	if (!found) {
		verr_set(e, IDEM_HEADER, IDEM_HEADER " \"%s\" was used for "
		    "execution %lld, which no longer exists", k->key, xid);
		*rc = EXECUTION_CONFLICT;
		return 1;
	}
	log_debug("execution %lld: answered again for its idempotency key",
	    xid);
	k->replayed = 1;
	sub->id = *id = xid;
	*rc = EXECUTION_OK;
	return 1;
}

/* A keyed submission's execution and key commit together: this opens
 * their transaction (nothing without a key). 0 or -1. */
static int
idem_begin(struct db *db, struct execution_submission *sub)
{
	if (!sub->idem.on)
		return 0;
	if (db_tx_begin_read_committed(db) == -1)
		return -1;
	sub->idem.in_tx = 1;
	return 0;
}

/* Rolls back the transaction of idem_begin when it is still open (a
 * failure between). */
static void
idem_abort(struct db *db, struct execution_submission *sub)
{
	if (!sub->idem.in_tx)
		return;
	db_tx_rollback(db);
	sub->idem.in_tx = 0;
}

enum idem_step { IDEM_COMMITTED, IDEM_ANSWERED, IDEM_RETRY };

/*
 * Inserts the key's row beside execution *id (inserted in idem_begin's
 * transaction, *queued its row when not NULL) and commits both.
 * IDEM_COMMITTED: done, or no key (a COMMIT in doubt is settled:
 * commit_settle). Otherwise both are rolled back: when
 * another request holds the key (a duplicate key; on Galera, or between
 * three requests on one server, a deadlock), its row answers
 * (IDEM_ANSWERED, as idem_known) or, not found, the insert is to be tried
 * again (IDEM_RETRY); any other failure is IDEM_ANSWERED with EXECUTION_DB.
 */
static enum idem_step
idem_commit(struct db *db, struct execution_submission *sub,
    struct execution *queued, long long *id, struct verr *e,
    enum execution_outcome *rc)
{
	struct idem_sub *k = &sub->idem;
	enum db_error err;

	if (!k->on)
		return IDEM_COMMITTED;
	if (store_idem_insert(db, k->token_id, k->key, IDEM_TTL_S, k->fp,
	    *id) == 0 && (db_tx_commit(db) == 0 ||
	    (db_error(db) == DB_EUNAVAIL && commit_settle(db, *id) == 1))) {
		k->in_tx = 0;
		return IDEM_COMMITTED;
	}
	err = db_error(db);
	idem_abort(db, sub);
	if (queued != NULL)
		execution_free(queued);
	*id = 0;
	*rc = EXECUTION_DB;
	if ((err != DB_EDUPLICATE && err != DB_EDEADLOCK) ||
	    ++k->tries >= IDEM_TRIES)
		return IDEM_ANSWERED;
	if (idem_known(db, sub, queued, id, e, rc))
		return IDEM_ANSWERED;
	return IDEM_RETRY;
}

enum execution_outcome
execution_submit(struct db *db, const struct conf *c, struct shm *shm,
    struct execution_submission *sub, yajl_val input, const char *trigger,
    const char *triggered_by, struct execution *queued, long long *id,
    struct verr *e)
{
	const struct script *s = &sub->script;
	enum execution_outcome rc;
	struct buf in_json = BUF_INIT, in_sealed = BUF_INIT, cb_url = BUF_INIT;
	int box = -1, runner_pid = 0, queue_full = sub->queue_full;
	int early, committed;
	enum db_error commit_err;
	long long nonce;
	yajl_val filled = NULL;
	/* Whether this node's runners may run it (its script's node_labels
	 * are all this node's): else only the queue in the database takes
	 * it to a node that has them (docs/api.md, "Nodes"). */
	int here = labels_subset(s->node_labels, c->node_labels);

	/* A key known within its 24 h: its execution, before any check. */
	if (idem_known(db, sub, queued, id, e, &rc))
		return rc;
	*id = 0;
	verr_list_free(&sub->errors);
	/* Defaults fill the input before the check: what is checked is
	 * what is stored and what the run gets. */
	if ((rc = input_with_defaults(s, input, &filled, e)) != EXECUTION_OK)
		return rc;
	if (filled != NULL)
		input = filled;
	if ((rc = execution_check_input_all(s, input, e, &sub->errors)) !=
	    EXECUTION_OK)
		goto out;
	if ((rc = callback_of(c, sub, &cb_url, e)) != EXECUTION_OK)
		goto out;
	if ((rc = input_stored(c, s, input, &in_json, &in_sealed, e)) !=
	    EXECUTION_OK)
		goto out;
	/* An idle local runner, reserved now, gets the execution with its
	 * input directly, and the row names it, so no other runner or node
	 * takes it: inserted running when the caller waits for the end (no
	 * `queued`), else queued until that runner has started it. With
	 * `queued`, the INSERT returns it: the answer shows the execution as
	 * it was queued, before the runner can take it. */
	if (s->max_concurrency == 0 && here)
		box = dispatch_mailbox_reserve(shm, &runner_pid);
	/* Not probed with the script (it was remembered): only a run that
	 * would wait for a runner is held against the queue's limit. */
	if (queue_full < 0 && box < 0 &&
	    store_execution_queue_full(db, c->queue_max_depth,
	    &queue_full) == -1) {
		rc = EXECUTION_DB;
		goto out;
	}
	if (queue_full > 0) {
		if (box >= 0)
			dispatch_mailbox_unreserve(shm, box);
		verr_set(e, "", "the queue holds %d executions, its limit",
		    c->queue_max_depth);
		rc = EXECUTION_OVERLOADED;
		goto out;
	}
	/* An idle runner gets the execution before its row's commit, and
	 * prepares the run while the commit reaches the disk: it starts
	 * the program only once told the commit went through (dispatch.h,
	 * dispatch_mailbox_assign_uncommitted), while the host has CPU to
	 * spare for it (dispatch_mailbox_early). Not with a key (its own
	 * transaction, which may be retried), nor with an input the box
	 * does not carry (the runner would read the row, not there yet). */
	early = box >= 0 && !sub->idem.on && in_sealed.len == 0 &&
	    in_json.len <= MAILBOX_INPUT_MAX && dispatch_mailbox_early(shm);
	/* What finds the row of an INSERT alone whose answer is lost
	 * (settle): random, one per submission. */
	randombytes_buf(&nonce, sizeof(nonce));
retry:
	if (idem_begin(db, sub) == -1 || (early && db_tx_begin(db) == -1)) {
		if (box >= 0)
			dispatch_mailbox_unreserve(shm, box);
		rc = EXECUTION_DB;
		goto out;
	}
	struct execution_reserved rsv = { c->node_name, runner_pid,
	    queued == NULL };
	if (store_execution_enqueue(db, s->id, s->name, trigger, triggered_by,
	    buf_str(&in_json),
	    in_sealed.len > 0 ? buf_str(&in_sealed) : NULL, s->node_labels,
	    cb_url.len > 0 ? buf_str(&cb_url) : NULL,
	    box >= 0 ? &rsv : NULL, nonce, id, queued) == -1) {
		/* Alone (autocommit), an INSERT whose answer was lost may
		 * have committed: its row, found by the nonce, is answered as
		 * if the INSERT had answered. In a transaction, the server
		 * rolled it back with the connection. */
		if (!sub->idem.in_tx && !early && db_in_doubt(db) &&
		    settle(db, 0, nonce, id, queued) == 1)
			goto inserted;
		/* In a keyed submission's transaction, a lost deadlock (on
		 * Galera, a conflict with another server's write) undid it
		 * all: again. Alone, db_exec() already ran it again. */
		if (sub->idem.in_tx && db_error(db) == DB_EDEADLOCK &&
		    ++sub->idem.tries < IDEM_TRIES) {
			idem_abort(db, sub);
			goto retry;
		}
		if (early) {
			db_tx_rollback(db);
			/* So it is here: alone, as without the transaction. */
			if (db_error(db) == DB_EDEADLOCK) {
				early = 0;
				goto retry;
			}
		}
		if (box >= 0)
			dispatch_mailbox_unreserve(shm, box);
		rc = EXECUTION_DB;
		goto out;
	}
	if (early) {
		sub->id = *id;
		sub->done_seen = dispatch_done_seen(shm, *id);
		sub->box = box;
		dispatch_mailbox_assign_uncommitted(shm, box, *id,
		    queued == NULL, s->id, s->updated_at, buf_str(&in_json),
		    in_json.len);
		committed = db_tx_commit(db) == 0 ||
		    (db_error(db) == DB_EUNAVAIL && commit_settle(db, *id) == 1);
		dispatch_mailbox_settle(shm, box, *id, committed);
		if (committed) {
			rc = EXECUTION_OK;
			goto out;
		}
		/* Nothing was inserted: the runner starts nothing and goes
		 * idle again. */
		commit_err = db_error(db);
		db_tx_rollback(db);
		if (queued != NULL)
			execution_free(queued);
		*id = sub->id = 0;
		sub->box = -1;
		/* A lost deadlock at the COMMIT (Galera: a conflict with
		 * another server's write) is tried again, as db_exec() tries
		 * an INSERT alone again: queued for any runner, since the one
		 * it went to drops it. */
		if (commit_err == DB_EDEADLOCK) {
			box = -1;
			early = 0;
			goto retry;
		}
		rc = EXECUTION_DB;
		goto out;
	}
	switch (idem_commit(db, sub, queued, id, e, &rc)) {
	case IDEM_COMMITTED:
		break;
	case IDEM_RETRY:
		goto retry;
	case IDEM_ANSWERED:
		if (box >= 0)
			dispatch_mailbox_unreserve(shm, box);
		goto out;
	}
inserted:
	sub->id = *id;
	/* Before any local runner can take it: a waiter cannot miss its
	 * completion. */
	sub->done_seen = dispatch_done_seen(shm, *id);
	if (box >= 0) {
		sub->box = box;
		/* With secret inputs, the box carries no input (as for one
		 * too big for it): the runner reads the row, where the
		 * sealed values are, and never finds them in shared memory. */
		dispatch_mailbox_assign(shm, box, *id, queued == NULL, s->id,
		    s->updated_at, buf_str(&in_json), in_sealed.len > 0 ?
		    MAILBOX_INPUT_MAX + 1 : in_json.len);
	} else if (here) {
		if (s->max_concurrency != 0 ||
		    dispatch_handoff(shm, *id) == -1)
			dispatch_backlog(shm);
		/* One idle local runner is enough; the other nodes' idle
		 * runners find it in the queue (runner.c, "watching"). */
		dispatch_wake_one(shm);
	}
	rc = EXECUTION_OK;
out:
	idem_abort(db, sub);
	buf_free(&in_json);
	buf_free(&in_sealed);
	buf_free(&cb_url);
	yajl_tree_free(filled);
	return rc;
}

/*
 * Waits until execution `id` is final or `timeout_ms` passed, woken by
 * the runner through its completion word. *final tells whether it ended.
 * `sub`: NULL, or the submission that queued it: then the first read of
 * the row waits for the runner instead of coming at once, and the runner
 * it went to may leave its final form in its mailbox: `json` (not NULL
 * with a `sub`) then holds the answer, already rendered, and *x stays
 * empty. Otherwise *x is its latest state (execution_free it). Once
 * *stopping is set (NULL: never), the wait ends within stop_grace_ms.
 * EXECUTION_OK, EXECUTION_NOT_FOUND (no such execution) or EXECUTION_DB.
 */
static enum execution_outcome
wait_end(struct db *db, struct shm *shm, long long id,
    const struct execution_submission *sub, int timeout_ms,
    const volatile sig_atomic_t *stopping, int stop_grace_ms,
    struct execution *x, struct buf *json, int *final)
{
	double deadline = clock_mono_ms() + timeout_ms;
	int found, stop_seen = 0;

	*final = 0;
	memset(x, 0, sizeof(*x));
	/* Just queued: it cannot be final before its word changes. */
	if (sub != NULL && timeout_ms > 0)
		dispatch_done_wait(shm, id, sub->done_seen, timeout_ms > 250 ?
		    250 : timeout_ms);
	for (;;) {
		/* Read the word before the row: a finish in between changes
		 * the word, and the wait below returns at once. */
		uint32_t seen = dispatch_done_seen(shm, id);
		if (sub != NULL && sub->box >= 0 &&
		    dispatch_mailbox_result_get(shm, sub->box, id, json)) {
			*final = 1;
			return EXECUTION_OK;
		}
		if (store_execution_get(db, id, x, &found) == -1)
			return EXECUTION_DB;
		if (!found)
			return EXECUTION_NOT_FOUND;
		if (execution_status_final(x->status)) {
			*final = 1;
			return EXECUTION_OK;
		}
		/* A signal ends the futex wait below, so the flag is seen
		 * within one read of the row. */
		if (stopping != NULL && *stopping && !stop_seen) {
			double by = clock_mono_ms() + stop_grace_ms;
			stop_seen = 1;
			if (by < deadline)
				deadline = by;
		}
		double left = deadline - clock_mono_ms();
		if (left <= 0)
			return EXECUTION_OK;
		execution_free(x);
		dispatch_done_wait(shm, id, seen, left > 250 ? 250 :
		    (int)left + 1);
	}
}

enum execution_outcome
execution_submit_wait(struct db *db, const struct conf *c, struct shm *shm,
    struct execution_submission *sub, yajl_val input, const char *trigger,
    const char *triggered_by, int wait_ms,
    const volatile sig_atomic_t *stopping, struct execution_waited *w,
    struct verr *e)
{
	enum execution_outcome rc;
	int place = -1, grace_ms;

	/* The place first: without one the row is inserted as an async
	 * submission's (queued, and returned for the answer), not running
	 * for a runner as a waited-for one is. */
	if (wait_ms > 0 &&
	    (place = dispatch_wait_enter(shm, conf_max_waiting(c))) < 0) {
		wait_ms = 0;
		w->declined = 1;
	}
	rc = execution_submit(db, c, shm, sub, input, trigger, triggered_by,
	    wait_ms == 0 ? &w->x : NULL, &w->id, e);
	if (rc != EXECUTION_OK)
		goto out;
	if (w->declined) {
		dispatch_wait_declined(shm);
		log_debug("execution %lld: every waiting place (%d) is taken; "
		    "answered without waiting", w->id, conf_max_waiting(c));
	}
	if (wait_ms == 0) {
		/* A replay's execution, as it is now, may have ended. */
		w->final = execution_status_final(w->x.status);
		goto out;
	}
	/* The master kills what is left shutdown_timeout_s after asking
	 * to stop: answer a second before that. */
	grace_ms = c->shutdown_timeout_s * 1000 - 1000;
	/* A replay is not this worker's submission: its execution is read,
	 * not waited for as just queued. */
	rc = wait_end(db, shm, w->id, sub->idem.replayed ? NULL : sub,
	    wait_ms, stopping, grace_ms > 0 ? grace_ms : 0, &w->x, &w->json,
	    &w->final);
out:
	if (place >= 0)
		dispatch_wait_leave(shm, place);
	return rc;
}

void
execution_waited_free(struct execution_waited *w)
{
	if (w == NULL)
		return;
	execution_free(&w->x);
	buf_free(&w->json);
}

enum execution_outcome
execution_get(struct db *db, long long id, struct execution *x)
{
	int found;

	if (store_execution_get(db, id, x, &found) == -1)
		return EXECUTION_DB;
	return found ? EXECUTION_OK : EXECUTION_NOT_FOUND;
}

enum execution_outcome
execution_output(struct db *db, long long id, int which_stderr, char **data,
    size_t *len)
{
	int found;

	if (store_execution_stream(db, id, which_stderr, data, len,
	    &found) == -1)
		return EXECUTION_DB;
	return found ? EXECUTION_OK : EXECUTION_NOT_FOUND;
}

enum execution_outcome
execution_deliveries(struct db *db, long long id,
    void (*fn)(void *arg, const struct delivery_rec *d), void *arg)
{
	char status[16];

	if (store_execution_status(db, id, status) == -1)
		return EXECUTION_DB;
	if (status[0] == '\0')
		return EXECUTION_NOT_FOUND;
	return store_delivery_list(db, id, fn,
	    arg) == -1 ? EXECUTION_DB : EXECUTION_OK;
}

enum execution_outcome
execution_list(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct execution *x), void *arg)
{
	return store_execution_list(db, f, fn,
	    arg) == -1 ? EXECUTION_DB : EXECUTION_OK;
}

enum execution_outcome
execution_counts(struct db *db, const struct execution_filter *f,
    struct status_counts *out)
{
	memset(out, 0, sizeof(*out));
	return store_execution_counts(db, f,
	    out) == -1 ? EXECUTION_DB : EXECUTION_OK;
}

double
execution_success_rate(const struct status_counts *c)
{
	long long ok = 0, finished = 0;

	for (int i = 0; execution_status_name(i) != NULL; i++) {
		const char *s = execution_status_name(i);

		if (!execution_status_final(s) || strcmp(s, "canceled") == 0)
			continue;
		finished += c->n[i];
		if (strcmp(s, "succeeded") == 0)
			ok += c->n[i];
	}
	return finished > 0 ? (double)ok / (double)finished : -1;
}

enum execution_outcome
execution_durations(struct db *db, const struct execution_filter *f,
    void (*fn)(void *arg, const struct duration_point *p), void *arg)
{
	return store_execution_durations(db, f, fn,
	    arg) == -1 ? EXECUTION_DB : EXECUTION_OK;
}

/*
 * The cancel and its audit record commit together. Read committed: the
 * UPDATEs lock the one row they change, not the rows they only look at
 * (a runner recording progress is never held up by a miss). A lost race
 * with a runner writing the same row (Galera tells it at COMMIT, InnoDB
 * may too) is a deadlock: the whole transaction is tried again.
 */
enum execution_outcome
execution_cancel(struct db *db, const struct conf *c, struct shm *shm,
    long long id, const char *actor, struct execution *x)
{
	int outcome, final, tries = 0;

	memset(x, 0, sizeof(*x));
retry:
	if (db_tx_begin_read_committed(db) == -1)
		return EXECUTION_DB;
	if (store_execution_cancel(db, id, &outcome) == -1)
		goto fail;
	if (outcome <= 0) {
		db_tx_rollback(db);
		return outcome == 0 ? EXECUTION_CONFLICT : EXECUTION_NOT_FOUND;
	}
	if (store_audit(db, actor, "execution.cancel", "execution", id,
	    NULL) == -1)
		goto fail;
	if (db_tx_commit(db) == -1)
		goto again;
	/* Ended at once (it was queued): its waiters learn of it. Running:
	 * this node's runners look at their cancel flags now. */
	if (outcome == 1)
		dispatch_notify_done(shm, id);
	else
		dispatch_notify_cancel(shm);
	/* A running one ends within a tick or two on this node; wait a
	 * little so the answer usually shows "canceled" already. */
	enum execution_outcome rc = wait_end(db, shm, id, NULL, outcome == 2 ?
	    (int)(c->kill_grace_s * 1000) + 2000 : 0, NULL, 0, x, NULL, &final);
	/* Ended here: its callback's delivery committed with the cancel (a
	 * running one's runner rings when it records the end). */
	if (outcome == 1 && rc == EXECUTION_OK && x->callback_url != NULL)
		sender_notify(shm);
	return rc;
fail:
	db_tx_rollback(db);
again:
	if (db_error(db) == DB_EDEADLOCK && ++tries < 5)
		goto retry;
	return EXECUTION_DB;
}
