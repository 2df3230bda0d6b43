/*
 * clock.h - time helpers: the one monotonic clock of the tree (every
 * deadline, interval and duration is measured on it), and RFC 3339
 * rendering of the database's UTC DATETIME(3) text.
 */
#ifndef SCRIPTORCH_CLOCK_H
#define SCRIPTORCH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds: for deadlines kept as integers (the
 * executor's). Never goes back; unrelated to the wall clock. */
int64_t clock_mono_ns(void);
/* The same clock in milliseconds (fractional). */
double clock_mono_ms(void);
/* "2026-11-26 05:36:24.123" (MariaDB) -> "2026-11-26T05:36:24.123Z" into
 * out (at least 32 bytes). Returns out, or NULL for NULL input. */
const char *clock_db_to_rfc3339(const char *db, char *out, size_t outlen);
/* Parses an RFC 3339 timestamp (Z or +hh:mm offset, optional fraction)
 * into MariaDB's UTC "YYYY-MM-DD HH:MM:SS.mmm" form. 0 or -1. */
int clock_rfc3339_to_db(const char *in, char *out, size_t outlen);

#endif
