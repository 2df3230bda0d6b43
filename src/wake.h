/*
 * wake.h - cross-process wake-ups on futex words in the shared region.
 *
 * A waiter reads the word, checks its condition (e.g. "is there queued
 * work?"), then sleeps only if the word still holds the value it read; a
 * waker changes the word first, then wakes. This closes the lost-wake-up
 * race without any lock. The words live in MAP_SHARED memory, so the
 * shared (not PRIVATE) futex operations are used.
 */
#ifndef SCRIPTORCH_WAKE_H
#define SCRIPTORCH_WAKE_H

#include <stdatomic.h>
#include <stdint.h>

static inline uint32_t
wake_read(_Atomic uint32_t *word)
{
	return atomic_load(word);
}

/* Sleeps while *word == seen, at most timeout_ms (<0: forever). Returns
 * early on a wake-up, a signal, or when the word already changed. */
void wake_wait(_Atomic uint32_t *word, uint32_t seen, int timeout_ms);
/* Changes the word and wakes up to `n` waiters (n < 0: all). */
void wake_bump(_Atomic uint32_t *word, int n);

#endif
