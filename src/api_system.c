/*
 * api_system.c - health, metrics and the nodes.
 */
#include "config.h"

#include "api.h"
#include "buf.h"
#include "db.h"
#include "json.h"
#include "metrics.h"
#include "nodes.h"
#include "store.h"

void
api_health(struct request *r)
{
	struct buf body = BUF_INIT;
	struct jw w;
	int ok;

	ok = db_begin(r->ctx->db) == 0 && store_ping(r->ctx->db) == 0;
	jw_init(&w, &body);
	jw_obj(&w);
	if (!ok) {
		/* The contract's error object, with the health fields beside
		 * it so that monitors reading either shape understand. */
		jw_key(&w, "error");
		jw_obj(&w);
		jw_key(&w, "code");
		jw_str(&w, "unavailable");
		jw_key(&w, "message");
		jw_str(&w, "the database is unreachable");
		jw_obj_end(&w);
	}
	jw_key(&w, "status");
	jw_str(&w, ok ? "ok" : "unavailable");
	jw_key(&w, "database");
	jw_str(&w, ok ? "ok" : "unreachable");
	jw_key(&w, "version");
	jw_str(&w, PACKAGE_VERSION);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, ok ? 200 : 503, &body);
	buf_free(&body);
}

void
api_metrics(struct request *r)
{
	struct buf out = BUF_INIT;
	struct metrics_gauges g = { 0, 0, 0 };

	if (db_begin(r->ctx->db) == 0 &&
	    store_execution_gauges(r->ctx->db, &g.queued, &g.running) == 0)
		g.have = 1;
	metrics_render(r->ctx->shm, &g, &out);
	resp_raw(r, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf_str(&out), out.len);
	buf_free(&out);
}

/* GET /api/v1/nodes: every node that shares this database (nodes.h). */
void
api_nodes_list(struct request *r)
{
	struct buf out = BUF_INIT;
	struct jw w;

	api_list_open(&w, &out, "nodes");
	if (db_begin(r->ctx->db) == -1 ||
	    nodes_write_list(r->ctx->db, r->ctx->conf, &w) == -1) {
		api_list_drop(&w, &out);
		api_db_failure(r, r->ctx->db);
		return;
	}
	api_list_send(r, &w, &out);
}
