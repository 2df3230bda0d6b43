/*
 * metrics.h - counters and histograms in the shared region, rendered in
 * Prometheus' text format by whichever API worker is scraped.
 */
#ifndef SCRIPTORCH_METRICS_H
#define SCRIPTORCH_METRICS_H

#include "buf.h"
#include "shm.h"

/* Histogram bucket bounds in seconds (the last bucket is +Inf). */
extern const double metrics_bounds[SHM_BUCKETS - 1];

void metrics_observe(struct histogram *h, double seconds);
/* Counts an API request: route index (-1: unmatched), status, latency. */
void metrics_api_request(struct shm *shm, int route, int status, double ms);
/* Index of an execution status name in shm->exec_final, or -1. */
int metrics_exec_status_index(const char *status);
/* Counts a finished execution with its overhead and duration (ms; <0 =
 * unknown, not observed). */
void metrics_execution(struct shm *shm, const char *status,
    double overhead_ms, double duration_ms);
void metrics_venv_build(struct shm *shm, int ok, double seconds);
/* Counts a callback attempt's outcome (sender.c): delivered (with the
 * time from the final status to the 2xx answer, ms), failed and tried
 * again, or a delivery given up. latency_ms < 0: none observed. */
enum metrics_cb { METRICS_CB_DELIVERED, METRICS_CB_RETRY, METRICS_CB_FAILED };
void metrics_callback(struct shm *shm, enum metrics_cb what,
    double latency_ms);

/* Gauges that come from the database at scrape time. */
struct metrics_gauges {
	long long queued;
	long long running;
	int have;           /* 0 when the database could not be asked */
};

/* Appends the whole exposition. */
void metrics_render(struct shm *shm, const struct metrics_gauges *g,
    struct buf *out);

#endif
