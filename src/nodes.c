/*
 * nodes.c - the nodes table (nodes.h): heartbeats and the list.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db.h"
#include "dispatch.h"
#include "json.h"
#include "labels.h"
#include "nodes.h"
#include "shm.h"
#include "store.h"

int
nodes_beat(struct db *db, const struct conf *c, struct shm *shm,
    int *peers_up)
{
	int busy = dispatch_runners_busy(shm);

	*peers_up = 0;
	if (store_node_beat(db, c->node_name, c->node_labels,
	    c->runner_workers, busy, PACKAGE_VERSION,
	    (long long)atomic_load(&shm->started_unix_ms)) == -1)
		return -1;
	return store_node_peers_up(db, c->node_name, c->heartbeat_timeout_s,
	    peers_up);
}

int
nodes_stopped(struct db *db, const struct conf *c)
{
	return store_node_stopped(db, c->node_name);
}

int
nodes_forget(struct db *db, int days, int *n)
{
	return store_node_forget(db, days, n);
}

static void
write_one(void *arg, const struct node_rec *n)
{
	struct jw *w = arg;

	jw_obj(w);
	jw_key(w, "name");
	jw_str(w, n->name);
	jw_key(w, "labels");
	labels_write_json(w, n->labels);
	jw_key(w, "runners");
	jw_int(w, n->runners);
	jw_key(w, "busy");
	jw_int(w, n->busy);
	jw_key(w, "version");
	jw_str(w, n->version);
	jw_key(w, "started_at");
	jw_str(w, n->started_at);
	jw_key(w, "last_seen_at");
	jw_str(w, n->last_seen_at);
	jw_key(w, "status");
	jw_str(w, n->up ? "up" : "down");
	jw_obj_end(w);
}

int
nodes_write_list(struct db *db, const struct conf *c, struct jw *w)
{
	return store_node_list(db, c->heartbeat_timeout_s, write_one, w);
}
