/*
 * clock.c - the monotonic clock and the timestamp conversions (clock.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* The only call of clock_gettime(CLOCK_MONOTONIC) in the tree. It cannot
 * fail with a valid clock id and pointer. */
int64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
clock_mono_ms(void)
{
	return (double)clock_mono_ns() / 1e6;
}

const char *
clock_db_to_rfc3339(const char *db, char *out, size_t outlen)
{
	char frac[4] = "000";
	const char *dot;

	if (db == NULL)
		return NULL;
	/* DATETIME(3) always has the fraction; pad defensively if not. */
	dot = strchr(db, '.');
	if (dot != NULL)
		for (int i = 0; i < 3 && dot[1 + i] >= '0' && dot[1 + i] <= '9'; i++)
			frac[i] = dot[1 + i];
	snprintf(out, outlen, "%.10sT%.8s.%sZ", db, db + 11, frac);
	return out;
}

int
clock_rfc3339_to_db(const char *in, char *out, size_t outlen)
{
	struct tm tm, want;
	const char *p;
	char *end;
	int ms = 0, sign = 0, oh = 0, om = 0;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	p = strptime(in, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		p = strptime(in, "%Y-%m-%d %H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		int digits = 0;
		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 3)
				ms = ms * 10 + (*p - '0');
			digits++;
			p++;
		}
		if (digits == 0)
			return -1;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		p++;
		oh = (int)strtol(p, &end, 10);
		if (end != p + 2 || *end != ':')
			return -1;
		p = end + 1;
		om = (int)strtol(p, &end, 10);
		if (end != p + 2)
			return -1;
		p = end;
	} else {
		return -1;
	}
	if (*p != '\0' || oh > 23 || om > 59)
		return -1;
	/* strptime takes any day 1-31 in any month; timegm would carry
	 * 2026-02-30 over into March. A date the calendar lacks is refused:
	 * the fields must survive the round trip. */
	want = tm;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	if (tm.tm_year != want.tm_year || tm.tm_mon != want.tm_mon ||
	    tm.tm_mday != want.tm_mday || tm.tm_hour != want.tm_hour ||
	    tm.tm_min != want.tm_min || tm.tm_sec != want.tm_sec)
		return -1;
	t -= sign * (oh * 3600 + om * 60);
	gmtime_r(&t, &tm);
	snprintf(out, outlen, "%04d-%02d-%02d %02d:%02d:%02d.%03d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms);
	return 0;
}
