/*
 * janitor.h - the master's maintenance process: marks executions whose
 * runner died as lost (and kills what they left), and deletes executions
 * past the retention period in small batches.
 */
#ifndef SCRIPTORCH_JANITOR_H
#define SCRIPTORCH_JANITOR_H

struct conf;
struct shm;

void janitor_main(const struct conf *c, struct shm *shm)
    __attribute__((noreturn));

#endif
