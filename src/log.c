/*
 * log.c - leveled, one-line logging to stderr.
 *
 * The level, role and current id are per-process state set once by the
 * process that owns them (the master before forking, each worker after);
 * they are the only mutable file-scope variables outside the configuration.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum log_level cur_level = LOG_LVL_INFO;
static const char *cur_role = "scriptorchd";
static char cur_id[64];

void
log_init(enum log_level level, const char *role)
{
	cur_level = level;
	cur_role = role;
	cur_id[0] = '\0';
}

void
log_set_level(enum log_level level)
{
	cur_level = level;
}

int
log_level_parse(const char *name, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

void
log_set_id(const char *id)
{
	if (id == NULL)
		cur_id[0] = '\0';
	else
		snprintf(cur_id, sizeof(cur_id), "%s", id);
}

int
log_enabled(enum log_level level)
{
	return level <= cur_level;
}

/*
 * One event, one line: control characters that came with a field (a token
 * name with a newline, a script name, a database message) are written as
 * \n, \r, \t or \xNN, and a backslash as \\, so a field can never
 * forge a log line of its own.
 */
void
log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (; *in != '\0' && o + 5 < outlen; in++) {
		unsigned char c = (unsigned char)*in;
		if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' :
			    c == '\t' ? 't' : '\\';
		} else if (c < 0x20 || c == 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static void
emit(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[2048], safe[4 * 2048];
	static const char *tags[] = { "error", "warn", "info", "debug" };
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum != 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s",
		    strerror(errnum));
	log_escape(msg, safe, sizeof(safe));
	fprintf(stderr, "%s [%ld] %s%s%s: %s\n", tags[level], (long)getpid(),
	    cur_role, cur_id[0] ? " " : "", cur_id, safe);
}

#define LOG_BODY(level, errnum)                                   \
	do {                                                      \
		va_list ap;                                       \
		if (!log_enabled(level))                          \
			return;                                   \
		va_start(ap, fmt);                                \
		emit(level, errnum, fmt, ap);                     \
		va_end(ap);                                       \
	} while (0)

void
log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(LOG_LVL_WARN, e);
	errno = e;
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_WARN, 0);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_INFO, 0);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LVL_DEBUG, 0);
}

void
fatal(const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LVL_ERROR, e, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
