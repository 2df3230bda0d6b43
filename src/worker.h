/*
 * worker.h - one API worker: accepts FastCGI requests on the shared
 * listening socket and answers them until told to stop.
 */
#ifndef SCRIPTORCH_WORKER_H
#define SCRIPTORCH_WORKER_H

struct conf;
struct shm;

/* Runs in a freshly forked child; never returns (exits 0 on SIGTERM). */
void worker_main(const struct conf *c, int listen_fd, struct shm *shm)
    __attribute__((noreturn));

#endif
