/*
 * tap.h - a tiny TAP producer for the unit tests (header only).
 *
 *   plan_lazy();                 // print the plan at the end
 *   ok(cond, "name %d", i);
 *   is_str(got, want, "name");
 *   is_int(got, want, "name");
 *   return done_testing();
 */
#ifndef SCRIPTORCH_TAP_H
#define SCRIPTORCH_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

static inline void
plan_lazy(void)
{
	tap_n = 0;
	tap_failed = 0;
}

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

#define is_str(got, want, ...)                                              \
	do {                                                                \
		const char *g_ = (got), *w_ = (want);                       \
		if (!ok(g_ != NULL && w_ != NULL ? strcmp(g_, w_) == 0      \
		    : g_ == w_, __VA_ARGS__))                               \
			printf("#   got: \"%s\"\n#  want: \"%s\"\n",         \
			    g_ ? g_ : "(null)", w_ ? w_ : "(null)");        \
	} while (0)

#define is_int(got, want, ...)                                              \
	do {                                                                \
		long long g_ = (long long)(got), w_ = (long long)(want);    \
		if (!ok(g_ == w_, __VA_ARGS__))                             \
			printf("#   got: %lld\n#  want: %lld\n", g_, w_);   \
	} while (0)

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
