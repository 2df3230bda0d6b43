/*
 * api.h - the HTTP handlers. Each parses and validates its input, calls a
 * service, and renders JSON; none runs SQL or starts a process itself.
 */
#ifndef SCRIPTORCH_API_H
#define SCRIPTORCH_API_H

#include "request.h"

struct buf;
struct jw;
struct db;
struct verr;
struct verr_list;

/* api_system.c */
void api_health(struct request *r);
void api_metrics(struct request *r);
void api_admin_config(struct request *r);
void api_nodes_list(struct request *r);

/* api_tokens.c */
void api_tokens_create(struct request *r);
void api_tokens_list(struct request *r);
void api_tokens_revoke(struct request *r);

/* api_session.c */
void api_session_open(struct request *r);
void api_session_get(struct request *r);
void api_session_close(struct request *r);

/* api_executions.c */
void api_exec_submit(struct request *r);
void api_script_test(struct request *r);
void api_exec_list(struct request *r);
void api_exec_counts(struct request *r);
void api_exec_durations(struct request *r);
void api_exec_get(struct request *r);
void api_exec_stdout(struct request *r);
void api_exec_stderr(struct request *r);
void api_exec_cancel(struct request *r);
void api_exec_deliveries(struct request *r);

/* api_scripts.c */
void api_scripts_list(struct request *r);
void api_scripts_create(struct request *r);
void api_scripts_get(struct request *r);
void api_scripts_update(struct request *r);
void api_scripts_delete(struct request *r);
void api_scripts_versions(struct request *r);
void api_scripts_inspect(struct request *r);

/* api_marketplace.c */
void api_marketplace_list(struct request *r);
void api_marketplace_install(struct request *r);

/* api_venvs.c */
void api_venvs_list(struct request *r);
void api_venvs_get(struct request *r);
void api_venvs_delete(struct request *r);
void api_venvs_rebuild(struct request *r);

/* api_common.c: helpers shared by the handlers. */
/* Parses the body as a JSON object; NULL after answering 400. The caller
 * frees the tree with yajl_tree_free(). */
struct yajl_val_s *api_body_object(struct request *r);
/* Whether every member of `body` is one of `known` (NULL-terminated): 0,
 * or -1 after answering 422 for the first that is not, naming it, and
 * `shape` (how the body looks) when not NULL. */
int api_body_known(struct request *r, const struct yajl_val_s *body,
    const char *const *known, const char *shape);
/* Parses r->params[i] as a positive id; 0 after answering 404. */
unsigned long long api_param_id(struct request *r, int i, const char *what);
/* A list answer {"<key>": [...]}: api_list_open() starts writing it into
 * `out` (borrowed); api_list_send() closes it, answers 200 and releases
 * the writer and the buffer; api_list_drop() releases them without
 * answering (after an error answer). */
void api_list_open(struct jw *w, struct buf *out, const char *key);
void api_list_send(struct request *r, struct jw *w, struct buf *out);
void api_list_drop(struct jw *w, struct buf *out);
/* The single-script answer (api_scripts.c): the script as the caller's
 * role sees it, its effective_limits and, for python, its venv. */
struct script;
void api_script_answer(struct request *r, int status, const struct script *s);
/*
 * A 422 validation_failed about `first` (its field and message), with
 * "errors": every entry of `all` ({"field","message"}, the first of them
 * `first`) when `all` is not NULL and each entry names a field.
 */
void api_invalid(struct request *r, const struct verr *first,
    const struct verr_list *all);
/* Answers for a failed store/service call: 503 when the database is
 * unreachable, 500 otherwise (logged with the request id). */
void api_db_failure(struct request *r, struct db *db);

#endif
