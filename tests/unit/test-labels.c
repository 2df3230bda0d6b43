/* Unit tests of labels.c: the label rule, the canonical text of a set
 * (from the config's list and from a script's array), the subset test,
 * and the regular expression the claim matches executions with (checked
 * here with POSIX regcomp, the "(?:" groups made plain). */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "labels.h"
#include "tap.h"

static void
rule(void)
{
	char why[160], long_label[LABEL_MAX_LEN + 2];

	is_int(label_check("gpu", 3, why, sizeof(why)), 0, "gpu is a label");
	is_int(label_check("ffmpeg-5.1_x", 12, why, sizeof(why)), 0,
	    "digits, dot, dash and underscore after the first character");
	is_int(label_check("0gpu", 4, why, sizeof(why)), 0,
	    "a digit first");
	is_int(label_check("GPU", 3, why, sizeof(why)), -1, "upper case refused");
	ok(strstr(why, "^[a-z0-9]") != NULL, "the message gives the rule: %s",
	    why);
	is_int(label_check("-gpu", 4, why, sizeof(why)), -1, "a dash first");
	is_int(label_check("a,b", 3, why, sizeof(why)), -1, "a comma");
	is_int(label_check("", 0, why, sizeof(why)), -1, "empty");
	memset(long_label, 'a', LABEL_MAX_LEN);
	is_int(label_check(long_label, LABEL_MAX_LEN, why, sizeof(why)), 0,
	    "%d characters", LABEL_MAX_LEN);
	is_int(label_check(long_label, LABEL_MAX_LEN + 1, why, sizeof(why)), -1,
	    "%d characters", LABEL_MAX_LEN + 1);
}

static void
list(void)
{
	struct buf b = BUF_INIT;
	char err[160];

	is_int(labels_parse_list(" gpu, ffmpeg ,,gpu", &b, err, sizeof(err)),
	    0, "a config list with spaces, an empty item and a repeat");
	is_str(buf_str(&b), "ffmpeg,gpu", "sorted, each once");
	buf_reset(&b);
	is_int(labels_parse_list("", &b, err, sizeof(err)), 0, "empty list");
	is_str(buf_str(&b), "", "no labels: empty text");
	buf_reset(&b);
	is_int(labels_parse_list("gpu,Big Disk", &b, err, sizeof(err)), -1,
	    "a bad label in the list");
	ok(strstr(err, "Big Disk") != NULL, "the message names it: %s", err);
	buf_reset(&b);
	is_int(labels_parse_list("a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", &b, err,
	    sizeof(err)), -1, "17 labels refused");
	buf_free(&b);
}

static void
canon(void)
{
	const char *v[] = { "ssd", "ffmpeg", "gpu" };
	const char *twice[] = { "gpu", "ffmpeg", "gpu" };
	const char *bad[] = { "gpu", "Fast" };
	struct buf b = BUF_INIT;
	struct verr e;

	is_int(labels_canon(v, 3, "node_labels", &b, &e), 0, "three labels");
	is_str(buf_str(&b), "ffmpeg,gpu,ssd", "sorted");
	buf_reset(&b);
	is_int(labels_canon(twice, 3, "node_labels", &b, &e), -1,
	    "a label given twice is refused");
	is_str(e.field, "node_labels[2]", "the field points at the repeat");
	is_int(labels_canon(bad, 2, "node_labels", &b, &e), -1, "a bad label");
	is_str(e.field, "node_labels[1]", "the field points at it");
	buf_reset(&b);
	is_int(labels_canon(NULL, 0, "node_labels", &b, &e), 0, "none");
	is_str(buf_str(&b), "", "none: empty text");
	buf_free(&b);
}

static void
subset(void)
{
	is_int(labels_subset(NULL, NULL), 1, "no need, no labels");
	is_int(labels_subset("", "gpu"), 1, "no need");
	is_int(labels_subset("gpu", NULL), 0, "need gpu, no labels");
	is_int(labels_subset("gpu", "ffmpeg,gpu"), 1, "gpu in ffmpeg,gpu");
	is_int(labels_subset("ffmpeg,gpu", "gpu"), 0, "ffmpeg missing");
	is_int(labels_subset("gp", "gpu"), 0, "a prefix is not a label");
	is_int(labels_subset("gpu", "gpu2"), 0, "nor a longer one");
}

/* Does the REGEXP for `have` match `need`, read as POSIX ERE? */
static int
covers(const char *have, const char *need)
{
	struct buf re = BUF_INIT, ere = BUF_INIT;
	regex_t rx;
	int m;

	labels_regexp(have, &re);
	for (const char *p = buf_str(&re); *p != '\0'; p++) {
		if (strncmp(p, "(?:", 3) == 0) {
			buf_addc(&ere, '(');
			p += 2;
		} else {
			buf_addc(&ere, *p);
		}
	}
	if (regcomp(&rx, buf_str(&ere), REG_EXTENDED | REG_NOSUB) != 0) {
		printf("Bail out! cannot compile %s\n", buf_str(&ere));
		exit(1);
	}
	m = regexec(&rx, need, 0, NULL, 0) == 0;
	regfree(&rx);
	buf_free(&re);
	buf_free(&ere);
	return m;
}

static void
regexp(void)
{
	struct buf re = BUF_INIT;

	labels_regexp("ffmpeg,gpu", &re);
	is_str(buf_str(&re), "^(?:ffmpeg|gpu)(?:,(?:ffmpeg|gpu))*$",
	    "the form of the expression");
	buf_reset(&re);
	labels_regexp("ffmpeg-5.1", &re);
	is_str(buf_str(&re), "^(?:ffmpeg-5\\.1)(?:,(?:ffmpeg-5\\.1))*$",
	    "a dot is escaped");
	buf_free(&re);
	is_int(covers("ffmpeg,gpu", "gpu"), 1, "gpu on an ffmpeg,gpu node");
	is_int(covers("ffmpeg,gpu", "ffmpeg,gpu"), 1, "both");
	is_int(covers("ffmpeg,gpu", "ffmpeg,gpu,ssd"), 0, "ssd missing");
	is_int(covers("gpu", "gp"), 0, "a prefix of a label");
	is_int(covers("gpu", "gpux"), 0, "a longer label");
	is_int(covers("ffmpeg-5.1", "ffmpeg-5x1"), 0, "the dot is a dot");
	is_int(covers("", "gpu"), 0, "a node without labels runs none");
	is_int(covers(NULL, "gpu"), 0, "nor with NULL");
}

static void
json(void)
{
	struct buf b = BUF_INIT;
	struct jw w;

	jw_init(&w, &b);
	labels_write_json(&w, "ffmpeg,gpu");
	jw_free(&w);
	is_str(buf_str(&b), "[\"ffmpeg\",\"gpu\"]", "two labels as JSON");
	buf_reset(&b);
	jw_init(&w, &b);
	labels_write_json(&w, NULL);
	jw_free(&w);
	is_str(buf_str(&b), "[]", "none as []");
	buf_free(&b);
}

int
main(void)
{
	plan_lazy();
	rule();
	list();
	canon();
	subset();
	regexp();
	json();
	return done_testing();
}
