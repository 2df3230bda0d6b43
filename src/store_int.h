/*
 * store_int.h - what the data-access modules (store_*.c) share among
 * themselves and nobody else needs: the script columns, so that a query
 * of another table can join a script and read it the same way.
 */
#ifndef SCRIPTORCH_STORE_INT_H
#define SCRIPTORCH_STORE_INT_H

#include <stddef.h>

struct dbres;
struct script;
struct token_rec;

/* The script columns in the order store_row_to_script() reads them, each
 * prefixed with `p` (a table alias and a dot, or ""). */
#define SCRIPT_COLS_P(p) p "id, " p "name, " p "type, " p "path, " \
	p "description, " p "enabled, " p "version, " p "requirements, " \
	p "args, " p "input_mode, " p "inputs, " p "outputs, " p "env, " \
	p "timeout_s, " p "max_concurrency, " p "created_at, " p "updated_at, " \
	p "secret_env, " p "`limits`, " p "network, " p "node_labels, " \
	p "callback_url"
#define SCRIPT_NCOLS 22

/* Is there a row at position `?` (the limit minus one) in the queue?
 * Walking the (status, id) index stops there, so the probe costs at most
 * the limit, not the table. */
#define QUEUE_PROBE "(SELECT id FROM executions WHERE status = 'queued' " \
	"ORDER BY id LIMIT 1 OFFSET ?)"

/* Fills *s from row `i` of `res`, starting at column `c0`. */
void store_row_to_script(const struct dbres *res, size_t i, size_t c0,
    struct script *s);

/* The token columns in the order store_row_to_token() reads them, each
 * prefixed with `p` (a table alias and a dot, or ""); the last says
 * whether its last recorded use is older than a minute. */
#define TOKEN_COLS_P(p) p "id, " p "name, " p "role, " p "created_at, " \
	p "last_used_at, " p "revoked_at, " p "token_hash, (" p \
	"last_used_at IS NULL OR " p "last_used_at < UTC_TIMESTAMP(3) - " \
	"INTERVAL 60 SECOND)"
#define TOKEN_NCOLS 8

/* Fills *t from row `i` of `res`, starting at column `c0`. */
void store_row_to_token(const struct dbres *res, size_t i, size_t c0,
    struct token_rec *t);

#endif
