#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "wake.h"

void
wake_wait(_Atomic uint32_t *word, uint32_t seen, int timeout_ms)
{
	struct timespec ts, *tsp = NULL;

	if (timeout_ms >= 0) {
		ts.tv_sec = timeout_ms / 1000;
		ts.tv_nsec = (long)(timeout_ms % 1000) * 1000000L;
		tsp = &ts;
	}
	/* EAGAIN (word changed), EINTR and ETIMEDOUT all mean "look again". */
	(void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, seen, tsp,
	    NULL, 0);
}

void
wake_bump(_Atomic uint32_t *word, int n)
{
	atomic_fetch_add(word, 1);
	(void)syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE,
	    n < 0 ? INT_MAX : n, NULL, NULL, 0);
}
