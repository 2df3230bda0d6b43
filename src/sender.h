/*
 * sender.h - the callback sender: one process per node, forked and
 * restarted by the master (when the node has a callback secret), that
 * delivers the outbox of completion callbacks (docs/api.md, "Completion
 * callbacks"; the table in sql/013_callbacks.sql).
 *
 * It claims due deliveries in the database (store_delivery_claim: locked
 * with SKIP LOCKED and marked with a claim token in one committed
 * transaction, so that each attempt is made by exactly one sender of all
 * nodes), POSTs each one's final execution, signed (callback.h), with
 * libcurl's multi interface (callback_concurrency attempts at once, so a
 * slow receiver holds up no other), and records the outcome: delivered,
 * pending again after the backoff, or failed past callback_max_age_s.
 *
 * It is woken at once when this node writes a delivery (sender_notify),
 * and polls every poll_interval_ms for deliveries other nodes wrote and
 * for retries that came due.
 */
#ifndef SCRIPTORCH_SENDER_H
#define SCRIPTORCH_SENDER_H

struct conf;
struct shm;

/*
 * The sender's doorbell: an eventfd (close-on-exec, non-blocking) that
 * the master makes before forking any child, kept in the shared region
 * (shm->sender_efd) so that every child can ring it. Fatal on failure
 * (start-up only).
 */
void sender_doorbell_init(struct shm *shm);
/*
 * Rings it: a delivery was just committed on this node (an execution with
 * a callback_url ended). Costs one write(2); never blocks, never fails
 * loudly (the sender's poll finds the delivery anyway). `shm` may be NULL
 * (the admin CLI has none): then nothing happens.
 */
void sender_notify(struct shm *shm);

void sender_main(const struct conf *c, struct shm *shm)
    __attribute__((noreturn));

#endif
