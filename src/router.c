/*
 * router.c - the route table and dispatch: match, authenticate, authorise,
 * run the handler, count the request.
 */
#include "config.h"

#include <string.h>

#include "api.h"
#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"
#include "router.h"

const struct route routes[] = {
	{ "GET", "/api/v1/health", api_health, ROLE_NONE, "/api/v1/health" },
	{ "GET", "/api/v1/metrics", api_metrics, ROLE_VIEWER, "/api/v1/metrics" },
	{ "GET", "/api/v1/admin/config", api_admin_config, ROLE_VIEWER,
	  "/api/v1/admin/config" },
	{ "GET", "/api/v1/nodes", api_nodes_list, ROLE_VIEWER, "/api/v1/nodes" },
	{ "POST", "/api/v1/admin/tokens", api_tokens_create, ROLE_ADMIN,
	  "/api/v1/admin/tokens" },
	{ "GET", "/api/v1/admin/tokens", api_tokens_list, ROLE_ADMIN,
	  "/api/v1/admin/tokens" },
	{ "DELETE", "/api/v1/admin/tokens/{}", api_tokens_revoke, ROLE_ADMIN,
	  "/api/v1/admin/tokens/{id}" },
	{ "POST", "/api/v1/session", api_session_open, ROLE_NONE,
	  "/api/v1/session" },
	{ "GET", "/api/v1/session", api_session_get, ROLE_VIEWER,
	  "/api/v1/session" },
	{ "DELETE", "/api/v1/session", api_session_close, ROLE_NONE,
	  "/api/v1/session" },
	{ "GET", "/api/v1/admin/scripts", api_scripts_list, ROLE_VIEWER,
	  "/api/v1/admin/scripts" },
	{ "POST", "/api/v1/admin/scripts", api_scripts_create, ROLE_ADMIN,
	  "/api/v1/admin/scripts" },
	/* A literal segment where an id goes: before /admin/scripts/{}. */
	{ "POST", "/api/v1/admin/scripts/inspect", api_scripts_inspect,
	  ROLE_ADMIN, "/api/v1/admin/scripts/inspect" },
	{ "GET", "/api/v1/admin/scripts/{}", api_scripts_get, ROLE_VIEWER,
	  "/api/v1/admin/scripts/{id}" },
	{ "PATCH", "/api/v1/admin/scripts/{}", api_scripts_update, ROLE_ADMIN,
	  "/api/v1/admin/scripts/{id}" },
	{ "DELETE", "/api/v1/admin/scripts/{}", api_scripts_delete, ROLE_ADMIN,
	  "/api/v1/admin/scripts/{id}" },
	{ "GET", "/api/v1/admin/scripts/{}/versions", api_scripts_versions,
	  ROLE_VIEWER, "/api/v1/admin/scripts/{id}/versions" },
	{ "POST", "/api/v1/scripts/{}/executions", api_exec_submit, ROLE_OPERATOR,
	  "/api/v1/scripts/{id}/executions" },
	{ "POST", "/api/v1/admin/scripts/{}/test", api_script_test, ROLE_ADMIN,
	  "/api/v1/admin/scripts/{id}/test" },
	{ "GET", "/api/v1/executions", api_exec_list, ROLE_VIEWER,
	  "/api/v1/executions" },
	/* Before /executions/{}, which would take "counts" for an id. */
	{ "GET", "/api/v1/executions/counts", api_exec_counts, ROLE_VIEWER,
	  "/api/v1/executions/counts" },
	{ "GET", "/api/v1/executions/durations", api_exec_durations,
	  ROLE_VIEWER, "/api/v1/executions/durations" },
	{ "GET", "/api/v1/executions/{}", api_exec_get, ROLE_VIEWER,
	  "/api/v1/executions/{id}" },
	{ "GET", "/api/v1/executions/{}/stdout", api_exec_stdout, ROLE_VIEWER,
	  "/api/v1/executions/{id}/stdout" },
	{ "GET", "/api/v1/executions/{}/stderr", api_exec_stderr, ROLE_VIEWER,
	  "/api/v1/executions/{id}/stderr" },
	{ "POST", "/api/v1/executions/{}/cancel", api_exec_cancel, ROLE_OPERATOR,
	  "/api/v1/executions/{id}/cancel" },
	{ "GET", "/api/v1/executions/{}/deliveries", api_exec_deliveries,
	  ROLE_VIEWER, "/api/v1/executions/{id}/deliveries" },
	{ "GET", "/api/v1/admin/venvs", api_venvs_list, ROLE_VIEWER,
	  "/api/v1/admin/venvs" },
	{ "GET", "/api/v1/admin/venvs/{}", api_venvs_get, ROLE_VIEWER,
	  "/api/v1/admin/venvs/{id}" },
	{ "DELETE", "/api/v1/admin/venvs/{}", api_venvs_delete, ROLE_ADMIN,
	  "/api/v1/admin/venvs/{id}" },
	{ "GET", "/api/v1/marketplace", api_marketplace_list, ROLE_VIEWER,
	  "/api/v1/marketplace" },
	{ "POST", "/api/v1/marketplace/{}/install", api_marketplace_install,
	  ROLE_ADMIN, "/api/v1/marketplace/{name}/install" },
	{ "POST", "/api/v1/admin/venvs/{}/rebuild", api_venvs_rebuild,
	  ROLE_ADMIN, "/api/v1/admin/venvs/{id}/rebuild" },
};
const int nroutes = (int)(sizeof(routes) / sizeof(routes[0]));

/* Compares one pattern with a path; captures "{}" segments into caps. */
static int
pattern_match(const char *pat, const char *path, char caps[][256], int *ncap)
{
	*ncap = 0;
	while (*pat != '\0' && *path != '\0') {
		if (pat[0] == '{' && pat[1] == '}') {
			const char *slash = strchr(path, '/');
			size_t n = slash ? (size_t)(slash - path) : strlen(path);
			if (n == 0 || n >= 256 || *ncap == REQ_MAX_PARAMS)
				return 0;
			memcpy(caps[*ncap], path, n);
			caps[*ncap][n] = '\0';
			(*ncap)++;
			pat += 2;
			path += n;
			continue;
		}
		if (*pat != *path)
			return 0;
		pat++;
		path++;
	}
	/* Tolerate one trailing slash on the request path. */
	if (*pat == '\0' && path[0] == '/' && path[1] == '\0')
		return 1;
	return *pat == '\0' && *path == '\0';
}

int
router_match(struct request *r, const char *method, const char *path,
    struct buf *allow)
{
	char caps[REQ_MAX_PARAMS][256];
	int ncap, found_path = 0;

	for (int i = 0; i < nroutes; i++) {
		if (!pattern_match(routes[i].pattern, path, caps, &ncap))
			continue;
		if (strcmp(routes[i].method, method) == 0) {
			for (int k = 0; k < ncap; k++) {
				r->params[k] = xstrdup(caps[k]);
			}
			r->nparams = ncap;
			return i;
		}
		if (allow != NULL && !strstr(buf_str(allow), routes[i].method)) {
			if (allow->len > 0)
				buf_adds(allow, ", ");
			buf_adds(allow, routes[i].method);
		}
		found_path = 1;
	}
	return found_path ? -2 : -1;
}

void
router_dispatch(struct request *r)
{
	struct buf allow = BUF_INIT;
	int idx;

	idx = router_match(r, r->method, r->path, &allow);
	if (idx == -2 && strcmp(r->method, "HEAD") == 0)
		idx = router_match(r, "GET", r->path, NULL);
	if (idx == -1) {
		resp_error(r, 404, "not_found", NULL, "no route for %s \"%s\"",
		    r->method, r->path);
	} else if (idx == -2) {
		req_add_header(r, "Allow", buf_str(&allow));
		resp_error(r, 405, "method_not_allowed", NULL,
		    "%s is not allowed on \"%s\"; allowed: %s", r->method,
		    r->path, buf_str(&allow));
	} else {
		r->route = idx;
		if (auth_check(r, routes[idx].need) == 0)
			routes[idx].fn(r);
		if (!r->responded) {
			log_warnx("handler for \"%s\" answered nothing",
			    routes[idx].label);
			resp_error(r, 500, "internal", NULL,
			    "the server did not answer (request %s)", r->id);
		}
	}
	buf_free(&allow);
	metrics_api_request(r->ctx->shm, r->route, r->status,
	    clock_mono_ms() - r->t0);
	log_debug("%s \"%s\" %d %.2fms", r->method, r->path, r->status,
	    clock_mono_ms() - r->t0);
}
