/*
 * api_system.c - health, metrics, the nodes, and what the answering
 * node's configuration lets a client know (the admin UI's forms).
 */
#include "config.h"

#include "api.h"
#include "buf.h"
#include "conf.h"
#include "db.h"
#include "json.h"
#include "metrics.h"
#include "runlimits.h"
#include "scriptfile.h"
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

/*
 * GET /admin/config: what a client needs from this node's configuration
 * to fill its forms and explain its refusals: where scripts may live (and
 * whether the run user can reach each root), the timeout and limit
 * bounds, whether secrets can be kept, how long a sign-in lasts. Nothing
 * that is a secret or a credential (the database, the index URL).
 */
void
api_admin_config(struct request *r)
{
	const struct conf *c = r->ctx->conf;
	struct run_limits def, max;
	struct buf out = BUF_INIT;
	struct verr e;
	struct jw w;

	limits_effective(c, NULL, &def);
	max.memory_mb = c->limit_memory_mb_max;
	max.pids = c->limit_pids_max;
	max.cpu_cores = c->limit_cpu_cores_max;
	max.file_size_mb = c->limit_file_size_mb_max;
	max.output_cap_kb = c->limit_output_cap_kb_max;
	jw_init(&w, &out);
	jw_obj(&w);
	jw_key(&w, "node");
	jw_str(&w, c->node_name);
	jw_key(&w, "version");
	jw_str(&w, PACKAGE_VERSION);
	jw_key(&w, "script_roots");
	jw_arr(&w);
	for (int i = 0; i < c->n_script_roots; i++) {
		int ok;

		verr_clear(&e);
		ok = scriptfile_root_check(c, c->script_roots[i], &e) == 0;
		jw_obj(&w);
		jw_key(&w, "path");
		jw_str(&w, c->script_roots[i]);
		jw_key(&w, "usable");
		jw_bool(&w, ok);
		jw_key(&w, "problem");
		jw_str(&w, ok ? NULL : e.message);
		jw_obj_end(&w);
	}
	jw_arr_end(&w);
	jw_key(&w, "run_user");
	jw_str(&w, c->run_user);
	jw_key(&w, "default_timeout_s");
	jw_int(&w, c->default_timeout_s);
	jw_key(&w, "max_timeout_s");
	jw_int(&w, c->max_timeout_s);
	jw_key(&w, "limits");
	jw_obj(&w);
	jw_key(&w, "defaults");
	limits_write(&w, &def);
	jw_key(&w, "maxima");
	limits_write(&w, &max);
	jw_obj_end(&w);
	jw_key(&w, "secrets");
	jw_bool(&w, c->has_secret_key);
	jw_key(&w, "python");
	jw_obj(&w);
	jw_key(&w, "interpreter");
	jw_str(&w, c->python);
	jw_key(&w, "allow_sdist");
	jw_bool(&w, c->allow_sdist);
	jw_key(&w, "allow_direct_urls");
	jw_bool(&w, c->allow_direct_urls);
	jw_obj_end(&w);
	jw_key(&w, "max_body_bytes");
	jw_int(&w, c->max_body_bytes);
	jw_key(&w, "session_ttl_s");
	jw_int(&w, c->session_ttl_s);
	jw_obj_end(&w);
	jw_free(&w);
	resp_json(r, 200, &out);
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
