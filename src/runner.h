/*
 * runner.h - one runner worker: claims queued executions and runs them.
 */
#ifndef SCRIPTORCH_RUNNER_H
#define SCRIPTORCH_RUNNER_H

struct conf;
struct shm;

/* Runs in a freshly forked child; never returns. `slot` numbers the
 * runner on this node (0..runner_workers-1). */
void runner_main(const struct conf *c, struct shm *shm, int slot)
    __attribute__((noreturn));

#endif
