/*
 * nodes.h - the nodes sharing this database (docs/api.md, "Nodes"): each
 * node's row in the nodes table, written by its janitor, and the list the
 * API answers.
 *
 * A node is "up" while its janitor has written its row within the
 * answering node's heartbeat_timeout_s and it has not recorded a clean
 * stop; otherwise "down". Whether a run of a dead node ends `lost` does
 * not depend on this row but on the run's own heartbeat, which its
 * runner writes every second (janitor.c): a node whose janitor stalls
 * (a slow venv eviction, say) may show down for a moment, and its runs
 * go on.
 *
 * Every function that fails for the database returns -1 with the reason
 * in db_error()/db_errmsg().
 */
#ifndef SCRIPTORCH_NODES_H
#define SCRIPTORCH_NODES_H

struct conf;
struct db;
struct jw;
struct shm;

/*
 * The heartbeat of this node (janitor, every heartbeat interval): its
 * row written (labels, runners and how many are busy now, version,
 * started_at: the master's start), and *peers_up set to how many other
 * nodes are up, which the janitor leaves in shm->peers_up for the
 * runners (dispatch.h, "watching").
 */
int nodes_beat(struct db *db, const struct conf *c, struct shm *shm,
    int *peers_up);
/* This node stopped cleanly: its row says so, and it shows down at once. */
int nodes_stopped(struct db *db, const struct conf *c);
/* Rows of nodes down for more than `days` days are deleted (*n of them):
 * a node taken out of service leaves the list after a while. */
int nodes_forget(struct db *db, int days, int *n);
/* Writes the nodes, by name, as the members of the API's list into an
 * open array of `w`. */
int nodes_write_list(struct db *db, const struct conf *c, struct jw *w);

#endif
