/*
 * log.h - one logging API for the whole daemon (after OpenBSD's log.c).
 *
 * Every line goes to stderr as:
 *   <level> [<pid>] <request-or-execution id> <message>
 * Messages are lower-case, without a trailing period, the subject in quotes.
 * log_warn() appends ": strerror(errno)"; log_warnx() does not.
 * Never call these between fork and exec, nor from a signal handler.
 */
#ifndef SCRIPTORCH_LOG_H
#define SCRIPTORCH_LOG_H


#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the least important level printed and the process role shown
 * ("master", "api", "runner", "cli"). `role` must be a string literal. */
void log_init(enum log_level level, const char *role);
void log_set_level(enum log_level level);
/* Parses "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);
/* The id shown in front of every line until changed; NULL clears it.
 * The string is copied (at most 63 bytes). */
void log_set_id(const char *id);
int log_enabled(enum log_level level);
/* Copies `in` into out (outlen bytes, NUL-terminated, cut if need be)
 * with control characters and backslashes escaped (\n, \xNN, \\): what
 * every log line goes through. */
void log_escape(const char *in, char *out, size_t outlen);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
