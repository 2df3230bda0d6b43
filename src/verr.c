#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

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

int
verr_list_has(const struct verr_list *l, const char *field)
{
	for (size_t i = 0; l != NULL && i < l->n; i++)
		if (strcmp(l->v[i].field, field != NULL ? field : "") == 0)
			return 1;
	return 0;
}

void
verr_list_add(struct verr_list *l, const struct verr *e)
{
	if (l == NULL || e == NULL || l->n >= VERR_LIST_MAX ||
	    verr_list_has(l, e->field))
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct verr *v = realloc(l->v, cap * sizeof(*v));
		if (v == NULL)
			fatal("realloc");
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *e;
}

int
verr_list_full(const struct verr_list *l)
{
	return l != NULL && l->n >= VERR_LIST_MAX;
}

void
verr_list_free(struct verr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}
