/*
 * framestats.c - the statistics of frame-stats (framestats.h): the
 * YUV4MPEG2 header, the per-frame measures, the runs, the JSON.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "framestats.h"

/* Bytes of the planes after the luma one, for an 8-bit colour space;
 * -1 for one this program does not read. */
static long long
chroma_bytes(const char *cs, long long w, long long h)
{
	long long cw2 = (w + 1) / 2, ch2 = (h + 1) / 2;

	if (strcmp(cs, "mono") == 0)
		return 0;
	if (strncmp(cs, "420", 3) == 0 && (cs[3] == '\0' ||
	    strcmp(cs + 3, "jpeg") == 0 || strcmp(cs + 3, "mpeg2") == 0 ||
	    strcmp(cs + 3, "paldv") == 0))
		return 2 * cw2 * ch2;
	if (strcmp(cs, "411") == 0)
		return 2 * ((w + 3) / 4) * h;
	if (strcmp(cs, "422") == 0)
		return 2 * cw2 * h;
	if (strcmp(cs, "444") == 0)
		return 2 * w * h;
	if (strcmp(cs, "444alpha") == 0)
		return 3 * w * h;
	return -1;
}

/* A positive decimal number of at most 9 digits at s[0..n). */
static int
parse_dim(const char *s, size_t n, int *out)
{
	long v = 0;

	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = (int)v;
	return 0;
}

int
fst_header_parse(const char *line, size_t len, struct fst_header *h,
    char *err, size_t errlen)
{
	static const char magic[] = "YUV4MPEG2";
	size_t i = sizeof(magic) - 1;
	long long cb;

	memset(h, 0, sizeof(*h));
	snprintf(h->colorspace, sizeof(h->colorspace), "420jpeg");
	if (len < i || memcmp(line, magic, i) != 0) {
		snprintf(err, errlen, "the frames are not a YUV4MPEG2 stream "
		    "(ffmpeg -f yuv4mpegpipe)");
		return -1;
	}
	while (i < len) {
		size_t j;

		if (line[i] == ' ') {
			i++;
			continue;
		}
		for (j = i; j < len && line[j] != ' '; j++)
			;
		const char *p = line + i + 1;
		size_t n = j - i - 1;
		switch (line[i]) {
		case 'W':
			if (parse_dim(p, n, &h->width) == -1)
				h->width = -1;
			break;
		case 'H':
			if (parse_dim(p, n, &h->height) == -1)
				h->height = -1;
			break;
		case 'F': {
			const char *colon = memchr(p, ':', n);
			if (colon == NULL ||
			    parse_dim(p, (size_t)(colon - p), &h->rate_num) ==
			    -1 || parse_dim(colon + 1, n - (size_t)(colon - p) -
			    1, &h->rate_den) == -1 || h->rate_den == 0)
				h->rate_num = h->rate_den = 0;
			break;
		}
		case 'C':
			if (n == 0 || n >= sizeof(h->colorspace)) {
				snprintf(err, errlen, "the stream's colour space "
				    "is not one this program reads");
				return -1;
			}
			memcpy(h->colorspace, p, n);
			h->colorspace[n] = '\0';
			break;
		default:	/* I (interlacing), A (aspect), X (extensions) */
			break;
		}
		i = j;
	}
	if (h->width < 1 || h->width > FST_MAX_DIM || h->height < 1 ||
	    h->height > FST_MAX_DIM) {
		snprintf(err, errlen, "the stream's header gives no frame size "
		    "from 1x1 to %dx%d", FST_MAX_DIM, FST_MAX_DIM);
		return -1;
	}
	if ((cb = chroma_bytes(h->colorspace, h->width, h->height)) < 0) {
		snprintf(err, errlen, "the stream's colour space \"%s\" is not "
		    "an 8-bit one this program reads (give it -pix_fmt gray)",
		    h->colorspace);
		return -1;
	}
	h->luma_bytes = (size_t)h->width * (size_t)h->height;
	h->chroma_bytes = (size_t)cb;
	return 0;
}

void
fst_options_default(struct fst_options *opt)
{
	opt->black_threshold = 25;
	opt->black_ratio = 0.98;
	opt->frozen_threshold = 0.5;
	opt->bins = 16;
}

int
fst_options_check(const struct fst_options *opt, char *err, size_t errlen)
{
	if (opt->black_threshold < 0 || opt->black_threshold > 255) {
		snprintf(err, errlen, "--black-threshold must be from 0 to 255");
		return -1;
	}
	if (!(opt->black_ratio > 0 && opt->black_ratio <= 1)) {
		snprintf(err, errlen, "--black-ratio must be above 0 and at "
		    "most 1");
		return -1;
	}
	if (!(opt->frozen_threshold >= 0 && opt->frozen_threshold <= 255)) {
		snprintf(err, errlen, "--frozen-threshold must be from 0 to "
		    "255");
		return -1;
	}
	if (opt->bins < 1 || opt->bins > FST_MAX_BINS) {
		snprintf(err, errlen, "--bins must be from 1 to %d",
		    FST_MAX_BINS);
		return -1;
	}
	return 0;
}

int
fst_stats_init(struct fst_stats *st, const struct fst_options *opt,
    const struct fst_header *h, char *err, size_t errlen)
{
	memset(st, 0, sizeof(*st));
	st->opt = *opt;
	st->h = *h;
	if ((st->prev = malloc(h->luma_bytes)) == NULL) {
		snprintf(err, errlen, "out of memory for a %dx%d frame",
		    h->width, h->height);
		return -1;
	}
	return 0;
}

double
fst_plane_mean(const uint8_t *p, size_t n, int black, size_t *black_pixels)
{
	unsigned long long sum = 0;
	size_t nb = 0;

	for (size_t i = 0; i < n; i++) {
		sum += p[i];
		nb += p[i] <= black;
	}
	*black_pixels = nb;
	return n > 0 ? (double)sum / (double)n : 0.0;
}

double
fst_plane_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	unsigned long long sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += a[i] > b[i] ? (unsigned)(a[i] - b[i]) :
		    (unsigned)(b[i] - a[i]);
	return n > 0 ? (double)sum / (double)n : 0.0;
}

/* Adds frame `i` to the runs: it extends the last run when it follows it
 * directly. A failed allocation drops the run but keeps the count. */
static void
runs_add(struct fst_runs *r, long long i)
{
	r->frames++;
	if (r->n > 0 && r->v[r->n - 1].end == i - 1) {
		r->v[r->n - 1].end = i;
		return;
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct fst_run *v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL)
			return;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n].start = r->v[r->n].end = i;
	r->n++;
}

void
fst_stats_add(struct fst_stats *st, const uint8_t *luma)
{
	size_t n = st->h.luma_bytes, black_px;
	long long i = st->frames;
	double mean;
	unsigned long long counts[256] = { 0 };

	mean = fst_plane_mean(luma, n, st->opt.black_threshold, &black_px);
	for (size_t k = 0; k < n; k++)
		counts[luma[k]]++;
	/* Bin b covers the values v with v * bins / 256 == b. */
	for (int v = 0; v < 256; v++)
		st->hist[v * st->opt.bins / 256] += counts[v];
	st->luma_sum += mean;
	if (i == 0 || mean < st->luma_min)
		st->luma_min = mean;
	if (i == 0 || mean > st->luma_max)
		st->luma_max = mean;
	if ((double)black_px >= st->opt.black_ratio * (double)n)
		runs_add(&st->black, i);
	if (i > 0 && fst_plane_diff(luma, st->prev, n) <
	    st->opt.frozen_threshold)
		runs_add(&st->frozen, i);
	memcpy(st->prev, luma, n);
	st->frames++;
}

/* A string as JSON, escaped. */
static void
json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

/* A number as JSON: 3 decimals at most, trailing zeros dropped. */
static void
json_number(FILE *f, double v)
{
	char buf[64];
	size_t n;

	if (!isfinite(v))
		v = 0;
	snprintf(buf, sizeof(buf), "%.3f", v);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n > 0 && buf[n - 1] == '.')
		buf[--n] = '\0';
	if (strcmp(buf, "-0") == 0)
		strcpy(buf, "0");
	fputs(buf, f);
}

static void
write_runs(FILE *f, const struct fst_stats *st, const struct fst_runs *r)
{
	int timed = st->h.rate_num > 0 && st->h.rate_den > 0;

	fprintf(f, "\"frames\":%lld,\"runs\":[", r->frames);
	for (size_t i = 0; i < r->n; i++) {
		fprintf(f, "%s{\"start\":%lld,\"end\":%lld,\"count\":%lld",
		    i ? "," : "", r->v[i].start, r->v[i].end,
		    r->v[i].end - r->v[i].start + 1);
		if (timed) {
			double per = (double)st->h.rate_den / st->h.rate_num;
			fputs(",\"start_time\":", f);
			json_number(f, (double)r->v[i].start * per);
			fputs(",\"end_time\":", f);
			json_number(f, (double)(r->v[i].end + 1) * per);
		}
		fputc('}', f);
	}
	fputc(']', f);
}

void
fst_write_json(FILE *f, const struct fst_stats *st, const char *input)
{
	const struct fst_header *h = &st->h;

	fputs("{\"input\":", f);
	json_string(f, input != NULL ? input : "-");
	fprintf(f, ",\"frames\":%lld,\"width\":%d,\"height\":%d,",
	    st->frames, h->width, h->height);
	fputs("\"frame_rate\":", f);
	if (h->rate_num > 0 && h->rate_den > 0)
		json_number(f, (double)h->rate_num / h->rate_den);
	else
		fputs("null", f);
	fputs(",\"duration\":", f);
	if (h->rate_num > 0 && h->rate_den > 0)
		json_number(f, (double)st->frames * h->rate_den / h->rate_num);
	else
		fputs("null", f);
	fputs(",\"luma\":{\"mean\":", f);
	json_number(f, st->frames ? st->luma_sum / (double)st->frames : 0);
	fputs(",\"min\":", f);
	json_number(f, st->luma_min);
	fputs(",\"max\":", f);
	json_number(f, st->luma_max);
	fprintf(f, ",\"bins\":%d,\"histogram\":[", st->opt.bins);
	for (int b = 0; b < st->opt.bins; b++)
		fprintf(f, "%s%llu", b ? "," : "", st->hist[b]);
	fputs("]},\"black\":{\"threshold\":", f);
	fprintf(f, "%d,\"ratio\":", st->opt.black_threshold);
	json_number(f, st->opt.black_ratio);
	fputc(',', f);
	write_runs(f, st, &st->black);
	fputs("},\"frozen\":{\"threshold\":", f);
	json_number(f, st->opt.frozen_threshold);
	fputc(',', f);
	write_runs(f, st, &st->frozen);
	fputs("}}\n", f);
}

void
fst_stats_free(struct fst_stats *st)
{
	free(st->prev);
	free(st->black.v);
	free(st->frozen.v);
	memset(st, 0, sizeof(*st));
}
