/*
 * framestats.h - statistics over a stream of 8-bit video frames in the
 * YUV4MPEG2 format (what `ffmpeg -f yuv4mpegpipe` writes): mean luma,
 * a luma histogram, and the runs of black and of frozen frames.
 *
 * Pure: the caller reads the bytes (main.c gets them from an ffmpeg it
 * starts, or from stdin) and hands them over; nothing here does I/O but
 * fst_write_json's stdio stream. Only the luma plane is looked at: a frame
 * of any 8-bit chroma layout (mono, 411, 420*, 422, 444, 444alpha) is
 * accepted, its chroma bytes skipped.
 *
 * Ownership: struct fst_stats owns its buffers; fst_stats_free releases
 * them. Strings passed in are borrowed.
 */
#ifndef FRAMESTATS_H
#define FRAMESTATS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define FST_MAX_BINS 256
#define FST_MAX_DIM 16384

/* A stream's header ("YUV4MPEG2 W.. H.. F..:.. ... C.."). */
struct fst_header {
	int width, height;
	int rate_num, rate_den;      /* 0/0 when the header has none */
	char colorspace[24];         /* "mono", "420jpeg", ...; "420jpeg"
	                              * when the header has no C */
	size_t luma_bytes;           /* width * height */
	size_t chroma_bytes;         /* what follows the luma plane */
};

/*
 * Parses one header line (without its newline; `len` bytes). 0, or -1
 * with a sentence in err: not YUV4MPEG2, a size missing or out of
 * 1..FST_MAX_DIM, a colour space that is not 8-bit ("420p10": pipe
 * frames with -pix_fmt gray).
 */
int fst_header_parse(const char *line, size_t len, struct fst_header *h,
    char *err, size_t errlen);

/* A run of consecutive frames (indexes from 0, end included). */
struct fst_run {
	long long start, end;
};

struct fst_runs {
	struct fst_run *v;
	size_t n, cap;
	long long frames;            /* frames in all runs */
};

/* What the caller chooses. */
struct fst_options {
	int black_threshold;         /* a pixel at or below this is black */
	double black_ratio;          /* a frame is black when at least this
	                              * fraction of its pixels is */
	double frozen_threshold;     /* a frame is frozen when its mean
	                              * absolute difference to the one
	                              * before is below this */
	int bins;                    /* histogram bins, 1..256 */
};

struct fst_stats {
	struct fst_options opt;
	struct fst_header h;
	long long frames;
	double luma_sum;             /* sum of the frames' means */
	double luma_min, luma_max;   /* of the frames' means */
	unsigned long long hist[FST_MAX_BINS];
	struct fst_runs black, frozen;
	uint8_t *prev;               /* the previous luma plane, or NULL */
};

/* Fills opt with the defaults (threshold 25, ratio 0.98, frozen 0.5,
 * 16 bins). */
void fst_options_default(struct fst_options *opt);
/* 0, or -1 with err naming the option that is out of range. */
int fst_options_check(const struct fst_options *opt, char *err, size_t errlen);

/* Starts the statistics of a stream with header `h`. 0, or -1 (out of
 * memory, err says so). */
int fst_stats_init(struct fst_stats *st, const struct fst_options *opt,
    const struct fst_header *h, char *err, size_t errlen);
/* Adds one frame: its luma plane of h.luma_bytes bytes (borrowed). */
void fst_stats_add(struct fst_stats *st, const uint8_t *luma);
/* Writes the result as one JSON object and a newline. `input` is named
 * in it (NULL: "-"). */
void fst_write_json(FILE *f, const struct fst_stats *st, const char *input);
void fst_stats_free(struct fst_stats *st);

/* The mean of a luma plane and how many of its pixels are at or below
 * `black` (exposed for the tests). */
double fst_plane_mean(const uint8_t *p, size_t n, int black,
    size_t *black_pixels);
/* The mean absolute difference of two planes of n bytes. */
double fst_plane_diff(const uint8_t *a, const uint8_t *b, size_t n);

#endif
