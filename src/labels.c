/*
 * labels.c - node labels: the rule, the canonical text, the match
 * (labels.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "labels.h"

static int
label_char(char ch, int first)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
		return 1;
	return !first && (ch == '.' || ch == '_' || ch == '-');
}

int
label_check(const char *s, size_t len, char *why, size_t whylen)
{
	if (len == 0) {
		snprintf(why, whylen, "a label must not be empty");
		return -1;
	}
	if (len > LABEL_MAX_LEN) {
		snprintf(why, whylen, "label \"%.*s...\" is longer than %d "
		    "characters", 16, s, LABEL_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (!label_char(s[i], i == 0)) {
			snprintf(why, whylen, "label \"%.*s\" must match "
			    "^[a-z0-9][a-z0-9._-]{0,%d}$", (int)len, s,
			    LABEL_MAX_LEN - 1);
			return -1;
		}
	}
	return 0;
}

static int
cmp_label(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorts `v` (n labels, checked) and appends them to `out`, each once;
 * returns how many were given twice. */
static size_t
join_sorted(const char **v, size_t n, struct buf *out)
{
	size_t dups = 0, written = 0;

	qsort(v, n, sizeof(*v), cmp_label);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0) {
			dups++;
			continue;
		}
		if (written++ > 0)
			buf_addc(out, ',');
		buf_adds(out, v[i]);
	}
	return dups;
}

int
labels_parse_list(const char *text, struct buf *out, char *err,
    size_t errlen)
{
	const char *v[LABELS_MAX * 4];
	char *copy = xstrdup(text), *tok, *save = NULL, why[160];
	size_t n = 0;
	int rc = -1;

	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save)) {
		size_t len;

		while (*tok == ' ' || *tok == '\t')
			tok++;
		len = strlen(tok);
		while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
			tok[--len] = '\0';
		if (len == 0)
			continue;
		if (label_check(tok, len, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s", why);
			goto out;
		}
		if (n == sizeof(v) / sizeof(v[0])) {
			snprintf(err, errlen, "more than %d labels", LABELS_MAX);
			goto out;
		}
		v[n++] = tok;
	}
	struct buf tmp = BUF_INIT;
	size_t dups = join_sorted(v, n, &tmp);
	if (n - dups > LABELS_MAX) {
		snprintf(err, errlen, "more than %d labels", LABELS_MAX);
		buf_free(&tmp);
		goto out;
	}
	buf_add(out, tmp.data ? tmp.data : "", tmp.len);
	buf_free(&tmp);
	rc = 0;
out:
	free(copy);
	return rc;
}

int
labels_canon(const char *const *v, size_t n, const char *field,
    struct buf *out, struct verr *e)
{
	const char *sorted[LABELS_MAX];
	char why[160];

	if (n > LABELS_MAX) {
		verr_set(e, field, "%s holds %zu labels; at most %d", field, n,
		    LABELS_MAX);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		char at[160];

		snprintf(at, sizeof(at), "%s[%zu]", field, i);
		if (label_check(v[i], strlen(v[i]), why, sizeof(why)) == -1) {
			verr_set(e, at, "%s: %s", at, why);
			return -1;
		}
		for (size_t k = 0; k < i; k++) {
			if (strcmp(v[k], v[i]) == 0) {
				verr_set(e, at, "%s: label \"%s\" is given "
				    "twice", at, v[i]);
				return -1;
			}
		}
		sorted[i] = v[i];
	}
	join_sorted(sorted, n, out);
	return 0;
}

/* 1 when label `l` (`len` bytes) is one of canonical `set`. */
static int
has_label(const char *set, const char *l, size_t len)
{
	const char *p = set;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (n == len && memcmp(p, l, len) == 0)
			return 1;
		p = comma ? comma + 1 : NULL;
	}
	return 0;
}

int
labels_subset(const char *need, const char *have)
{
	const char *p = need;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		if (!has_label(have, p, n))
			return 0;
		p = comma ? comma + 1 : NULL;
	}
	return 1;
}

/* The alternation of `have`'s labels, '.' escaped: "ffmpeg|gpu". */
static void
alternation(const char *have, struct buf *out)
{
	for (const char *p = have; *p != '\0'; p++) {
		if (*p == ',')
			buf_addc(out, '|');
		else if (*p == '.')
			buf_adds(out, "\\.");
		else
			buf_addc(out, *p);
	}
}

void
labels_regexp(const char *have, struct buf *out)
{
	if (have == NULL || *have == '\0') {
		/* A canonical text is never empty: nothing matches. */
		buf_adds(out, "^$");
		return;
	}
	buf_adds(out, "^(?:");
	alternation(have, out);
	buf_adds(out, ")(?:,(?:");
	alternation(have, out);
	buf_adds(out, "))*$");
}

void
labels_write_json(struct jw *w, const char *text)
{
	const char *p = text;

	jw_arr(w);
	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);

		jw_strn(w, p, n);
		p = comma ? comma + 1 : NULL;
	}
	jw_arr_end(w);
}
