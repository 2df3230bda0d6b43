/*
 * labels.h - node labels (docs/api.md, "Nodes"): what a label may be,
 * the one text form a set of them is kept in, and the matching of a
 * script's labels against a node's.
 *
 * A label matches ^[a-z0-9][a-z0-9._-]{0,62}$; a set holds at most
 * LABELS_MAX of them. The canonical text of a set is its labels sorted
 * (strcmp order), each once, joined by commas ("ffmpeg,gpu"); the empty
 * set is "" here, and NULL (no requirement) in a script's or an
 * execution's column. The config's node_labels, the nodes table and the
 * scripts' and executions' columns all hold this form, so two equal sets
 * are equal strings and the claim can match them with one REGEXP.
 *
 * Pure: no I/O. Every function writes into a caller's buffer.
 */
#ifndef SCRIPTORCH_LABELS_H
#define SCRIPTORCH_LABELS_H

#include <stddef.h>

#include "verr.h"

struct buf;
struct jw;

#define LABEL_MAX_LEN 63
#define LABELS_MAX 16
/* The longest canonical text: what the columns (VARCHAR(1024)) hold. */
#define LABELS_TEXT_MAX (LABELS_MAX * (LABEL_MAX_LEN + 1) - 1)

/* 0 when `s` (`len` bytes) is a label, else -1 with why (a sentence
 * about `s`, without the field). */
int label_check(const char *s, size_t len, char *why, size_t whylen);

/*
 * Parses a comma-separated list (the config's node_labels: "gpu, ffmpeg";
 * spaces around each label are dropped, empty items skipped, a label
 * given twice counts once) into its canonical text, appended to `out`.
 * 0, or -1 with err.
 */
int labels_parse_list(const char *text, struct buf *out, char *err,
    size_t errlen);

/*
 * The canonical text of `n` labels (borrowed strings), appended to `out`.
 * Each must be a label and none may come twice: else -1 with e, whose
 * field is `field` with the index ("node_labels[2]").
 */
int labels_canon(const char *const *v, size_t n, const char *field,
    struct buf *out, struct verr *e);

/* 1 when every label of canonical `need` (NULL or "": none) is in
 * canonical `have` (NULL: none), else 0. */
int labels_subset(const char *need, const char *have);

/*
 * A regular expression (PCRE, as MariaDB's REGEXP takes it) that matches
 * the canonical text of exactly the non-empty sets that canonical `have`
 * covers: "^(?:ffmpeg|gpu)(?:,(?:ffmpeg|gpu))*$"; for no labels one that
 * matches no such text. Appended to `out`.
 */
void labels_regexp(const char *have, struct buf *out);

/* Writes canonical `text` (NULL: none) as a JSON array of strings. */
void labels_write_json(struct jw *w, const char *text);

#endif
