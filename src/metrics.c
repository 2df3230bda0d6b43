/*
 * metrics.c - Prometheus text exposition of the shared counters.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "dispatch.h"
#include "metrics.h"
#include "router.h"

const double metrics_bounds[SHM_BUCKETS - 1] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 60
};

/* HTTP codes with a slot of their own; the last slot is "other". */
static const int http_codes[SHM_HTTP_CODES - 1] = {
	200, 201, 202, 204, 400, 401, 403, 404, 405, 409, 413, 422, 429, 500,
	503
};

static const char *exec_statuses[SHM_EXEC_STATUSES] = {
	"succeeded", "failed", "timed_out", "canceled", "error", "lost",
	"queued", "running"
};

void
metrics_observe(struct histogram *h, double seconds)
{
	int i;

	for (i = 0; i < SHM_BUCKETS - 1; i++)
		if (seconds <= metrics_bounds[i])
			break;
	atomic_fetch_add(&h->bucket[i], 1);
	atomic_fetch_add(&h->count, 1);
	atomic_fetch_add(&h->sum_us, (uint64_t)(seconds * 1e6));
}

void
metrics_api_request(struct shm *shm, int route, int status, double ms)
{
	int slot = SHM_HTTP_CODES - 1;

	if (route < 0 || route >= SHM_ROUTES - 1)
		route = SHM_ROUTES - 1;
	for (int i = 0; i < SHM_HTTP_CODES - 1; i++)
		if (http_codes[i] == status)
			slot = i;
	atomic_fetch_add(&shm->api_requests[route][slot], 1);
	metrics_observe(&shm->api_latency[route], ms / 1000.0);
}

int
metrics_exec_status_index(const char *status)
{
	for (int i = 0; i < SHM_EXEC_STATUSES; i++)
		if (strcmp(exec_statuses[i], status) == 0)
			return i;
	return -1;
}

void
metrics_execution(struct shm *shm, const char *status, double overhead_ms,
    double duration_ms)
{
	int i = metrics_exec_status_index(status);

	if (i >= 0)
		atomic_fetch_add(&shm->exec_final[i], 1);
	if (overhead_ms >= 0)
		metrics_observe(&shm->exec_overhead, overhead_ms / 1000.0);
	if (duration_ms >= 0)
		metrics_observe(&shm->exec_duration, duration_ms / 1000.0);
}

void
metrics_venv_build(struct shm *shm, int ok, double seconds)
{
	atomic_fetch_add(ok ? &shm->venv_builds_ok : &shm->venv_builds_failed,
	    1);
	metrics_observe(&shm->venv_build, seconds);
}

void
metrics_callback(struct shm *shm, enum metrics_cb what, double latency_ms)
{
	atomic_fetch_add(&shm->callbacks[what], 1);
	if (what == METRICS_CB_DELIVERED && latency_ms >= 0)
		metrics_observe(&shm->callback_latency, latency_ms / 1000.0);
}

static void
render_hist(struct buf *out, const char *name, const char *labels,
    struct histogram *h)
{
	uint64_t cum = 0;

	for (int i = 0; i < SHM_BUCKETS; i++) {
		cum += atomic_load(&h->bucket[i]);
		if (i < SHM_BUCKETS - 1)
			buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
			    labels, *labels ? "," : "", metrics_bounds[i],
			    (unsigned long long)cum);
		else
			buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n",
			    name, labels, *labels ? "," : "",
			    (unsigned long long)cum);
	}
	buf_printf(out, "%s_sum%s%s%s %.6f\n", name, *labels ? "{" : "",
	    labels, *labels ? "}" : "",
	    (double)atomic_load(&h->sum_us) / 1e6);
	buf_printf(out, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "",
	    labels, *labels ? "}" : "",
	    (unsigned long long)atomic_load(&h->count));
}

static const char *
route_label(int i)
{
	return i < nroutes ? routes[i].label : "unmatched";
}

void
metrics_render(struct shm *shm, const struct metrics_gauges *g,
    struct buf *out)
{
	char labels[256];

	buf_adds(out, "# HELP scriptorch_api_requests_total API requests by "
	    "route and status.\n# TYPE scriptorch_api_requests_total counter\n");
	for (int r = 0; r < SHM_ROUTES; r++) {
		if (r >= nroutes && r != SHM_ROUTES - 1)
			continue;
		for (int c = 0; c < SHM_HTTP_CODES; c++) {
			uint64_t v = atomic_load(&shm->api_requests[r][c]);
			if (v == 0)
				continue;
			if (c < SHM_HTTP_CODES - 1)
				buf_printf(out, "scriptorch_api_requests_total"
				    "{route=\"%s\",status=\"%d\"} %llu\n",
				    route_label(r), http_codes[c],
				    (unsigned long long)v);
			else
				buf_printf(out, "scriptorch_api_requests_total"
				    "{route=\"%s\",status=\"other\"} %llu\n",
				    route_label(r), (unsigned long long)v);
		}
	}
	buf_adds(out, "# HELP scriptorch_api_request_duration_seconds API "
	    "request latency by route.\n"
	    "# TYPE scriptorch_api_request_duration_seconds histogram\n");
	for (int r = 0; r < SHM_ROUTES; r++) {
		if (atomic_load(&shm->api_latency[r].count) == 0)
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_label(r));
		render_hist(out, "scriptorch_api_request_duration_seconds",
		    labels, &shm->api_latency[r]);
	}

	buf_printf(out, "# HELP scriptorch_api_waiting_workers API workers "
	    "of this node waiting for an execution's end (?wait=, /test).\n"
	    "# TYPE scriptorch_api_waiting_workers gauge\n"
	    "scriptorch_api_waiting_workers %d\n", dispatch_waiting(shm));
	buf_printf(out, "# HELP scriptorch_api_waits_declined_total Waits "
	    "answered 202 at once because max_waiting_workers workers were "
	    "waiting already.\n"
	    "# TYPE scriptorch_api_waits_declined_total counter\n"
	    "scriptorch_api_waits_declined_total %llu\n",
	    (unsigned long long)atomic_load(&shm->waits_declined));

	buf_adds(out, "# HELP scriptorch_executions_total Executions that "
	    "reached a final status on this node, by status.\n"
	    "# TYPE scriptorch_executions_total counter\n");
	for (int i = 0; i < 6; i++)
		buf_printf(out, "scriptorch_executions_total{status=\"%s\"} "
		    "%llu\n", exec_statuses[i],
		    (unsigned long long)atomic_load(&shm->exec_final[i]));
	if (g != NULL && g->have) {
		buf_printf(out, "# HELP scriptorch_queue_depth Executions "
		    "waiting in the queue (all nodes).\n"
		    "# TYPE scriptorch_queue_depth gauge\n"
		    "scriptorch_queue_depth %lld\n", g->queued);
		buf_printf(out, "# HELP scriptorch_executions_running "
		    "Executions running now (all nodes).\n"
		    "# TYPE scriptorch_executions_running gauge\n"
		    "scriptorch_executions_running %lld\n", g->running);
	}
	buf_adds(out, "# HELP scriptorch_execution_overhead_seconds Time "
	    "from queued to started.\n"
	    "# TYPE scriptorch_execution_overhead_seconds histogram\n");
	render_hist(out, "scriptorch_execution_overhead_seconds", "",
	    &shm->exec_overhead);
	buf_adds(out, "# HELP scriptorch_execution_duration_seconds Time "
	    "from exec to reaping.\n"
	    "# TYPE scriptorch_execution_duration_seconds histogram\n");
	render_hist(out, "scriptorch_execution_duration_seconds", "",
	    &shm->exec_duration);
	buf_printf(out, "# HELP scriptorch_venv_builds_total Python venv "
	    "builds by result.\n# TYPE scriptorch_venv_builds_total counter\n"
	    "scriptorch_venv_builds_total{result=\"ok\"} %llu\n"
	    "scriptorch_venv_builds_total{result=\"failed\"} %llu\n",
	    (unsigned long long)atomic_load(&shm->venv_builds_ok),
	    (unsigned long long)atomic_load(&shm->venv_builds_failed));
	buf_adds(out, "# HELP scriptorch_venv_build_seconds Python venv "
	    "build time.\n# TYPE scriptorch_venv_build_seconds histogram\n");
	render_hist(out, "scriptorch_venv_build_seconds", "",
	    &shm->venv_build);
	buf_printf(out, "# HELP scriptorch_callback_attempts_total Callback "
	    "attempts of this node's sender by outcome (retry: failed, tried "
	    "again later).\n"
	    "# TYPE scriptorch_callback_attempts_total counter\n"
	    "scriptorch_callback_attempts_total{outcome=\"delivered\"} %llu\n"
	    "scriptorch_callback_attempts_total{outcome=\"retry\"} %llu\n"
	    "# HELP scriptorch_callback_deliveries_failed_total Deliveries "
	    "this node's sender gave up (callback_max_age_s passed, or they "
	    "could not be attempted).\n"
	    "# TYPE scriptorch_callback_deliveries_failed_total counter\n"
	    "scriptorch_callback_deliveries_failed_total %llu\n",
	    (unsigned long long)atomic_load(
	    &shm->callbacks[METRICS_CB_DELIVERED]),
	    (unsigned long long)atomic_load(&shm->callbacks[METRICS_CB_RETRY]),
	    (unsigned long long)atomic_load(
	    &shm->callbacks[METRICS_CB_FAILED]));
	buf_adds(out, "# HELP scriptorch_callback_latency_seconds Time from "
	    "an execution's final status to its receiver's 2xx answer.\n"
	    "# TYPE scriptorch_callback_latency_seconds histogram\n");
	render_hist(out, "scriptorch_callback_latency_seconds", "",
	    &shm->callback_latency);
}
