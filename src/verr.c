#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "verr.h"

void
verr_clear(struct verr *e)
{
	if (e == NULL)
		return;
	e->field[0] = '\0';
	e->message[0] = '\0';
}

/*
 * Backs the terminating NUL up so that a cut never leaves half of a UTF-8
 * sequence at the end: the message goes out in a JSON body, and a broken
 * sequence there would become U+FFFD or a rejected response.
 */
static void
cut_utf8(char *s, size_t size)
{
	size_t len = strlen(s), i, need;
	unsigned char c;

	if (len + 1 < size)
		return;
	/* The text was cut at len; look back at most 3 bytes for a lead. */
	for (i = len; i > 0 && len - i < 4; i--) {
		c = (unsigned char)s[i - 1];
		if ((c & 0xC0) == 0x80)
			continue;
		if (c < 0x80)
			return;
		need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
		if (len - (i - 1) < need)
			s[i - 1] = '\0';
		return;
	}
}

void
verr_set(struct verr *e, const char *field, const char *fmt, ...)
{
	char f[sizeof(e->field)], m[sizeof(e->message)];
	va_list ap;

	if (e == NULL)
		return;
	/* Format into copies: field or an argument may point into *e. */
	snprintf(f, sizeof(f), "%s", field != NULL ? field : "");
	cut_utf8(f, sizeof(f));
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	cut_utf8(m, sizeof(m));
	memcpy(e->field, f, sizeof(f));
	memcpy(e->message, m, sizeof(m));
}
