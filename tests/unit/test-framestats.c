/* Unit tests for the marketplace's frame-stats program: its statistics
 * (marketplace/frame-stats/framestats.c). The program itself, with its
 * options and its ffmpeg, is tests/marketplace/t-frame-stats.sh's. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framestats.h"
#include "tap.h"

static int
parse(const char *line, struct fst_header *h, char *err, size_t errlen)
{
	return fst_header_parse(line, strlen(line), h, err, errlen);
}

static void
test_header(void)
{
	struct fst_header h;
	char err[256];

	ok(parse("YUV4MPEG2 W64 H48 F25:1 Ip A1:1 Cmono XCOLORRANGE=FULL", &h,
	    err, sizeof(err)) == 0, "ffmpeg's grey header");
	is_int(h.width, 64, "  width");
	is_int(h.height, 48, "  height");
	is_int(h.rate_num, 25, "  rate");
	is_int(h.rate_den, 1, "  rate's denominator");
	is_str(h.colorspace, "mono", "  colour space");
	is_int(h.luma_bytes, 64 * 48, "  luma bytes");
	is_int(h.chroma_bytes, 0, "  no chroma");

	ok(parse("YUV4MPEG2 W5 H3 F30000:1001", &h, err, sizeof(err)) == 0,
	    "no C: 4:2:0 as the format says");
	is_str(h.colorspace, "420jpeg", "  420jpeg");
	is_int(h.chroma_bytes, 2 * 3 * 2, "  odd sizes round the chroma up");
	is_int(h.rate_num, 30000, "  NTSC rate");
	is_int(h.rate_den, 1001, "  NTSC rate's denominator");

	ok(parse("YUV4MPEG2 W5 H3 C422", &h, err, sizeof(err)) == 0 &&
	    h.chroma_bytes == 2 * 3 * 3, "4:2:2 chroma");
	ok(parse("YUV4MPEG2 W5 H3 C444", &h, err, sizeof(err)) == 0 &&
	    h.chroma_bytes == 2 * 15, "4:4:4 chroma");
	ok(parse("YUV4MPEG2 W5 H3 C444alpha", &h, err, sizeof(err)) == 0 &&
	    h.chroma_bytes == 3 * 15, "4:4:4 with alpha");
	ok(parse("YUV4MPEG2 W5 H3 C411", &h, err, sizeof(err)) == 0 &&
	    h.chroma_bytes == 2 * 2 * 3, "4:1:1 chroma");
	ok(parse("YUV4MPEG2 W8 H8 C420mpeg2 F0:0", &h, err, sizeof(err)) == 0 &&
	    h.rate_num == 0 && h.rate_den == 0, "a rate of 0:0 is no rate");

	ok(parse("YUV4MPEG2 W8 H8 C420p10", &h, err, sizeof(err)) == -1,
	    "10-bit refused");
	ok(strstr(err, "420p10") != NULL && strstr(err, "gray") != NULL,
	    "  the message names it and the way out: %s", err);
	ok(parse("YUV4MPEG2 H8", &h, err, sizeof(err)) == -1, "no width");
	ok(parse("YUV4MPEG2 W0 H8", &h, err, sizeof(err)) == -1, "width 0");
	ok(parse("YUV4MPEG2 W16385 H8", &h, err, sizeof(err)) == -1,
	    "width over the maximum");
	ok(parse("YUV4MPEG2 W1x H8", &h, err, sizeof(err)) == -1,
	    "width not a number");
	ok(parse("P5 8 8 255", &h, err, sizeof(err)) == -1 &&
	    strstr(err, "YUV4MPEG2") != NULL, "not a YUV4MPEG2 stream: %s",
	    err);
}

static void
test_planes(void)
{
	uint8_t a[4] = { 0, 10, 20, 250 }, b[4] = { 4, 10, 30, 240 };
	size_t nb;

	ok(fst_plane_mean(a, 4, 10, &nb) == 70.0, "mean of a plane");
	is_int(nb, 2, "  pixels at or below the threshold are black");
	ok(fst_plane_diff(a, b, 4) == 6.0, "mean absolute difference");
	ok(fst_plane_diff(a, a, 4) == 0.0, "no difference to itself");
}

/* A w x h frame of one value with `bright` pixels at 255. */
static void
frame(uint8_t *p, size_t n, uint8_t v, size_t bright)
{
	memset(p, v, n);
	memset(p, 255, bright);
}

static void
test_stats(void)
{
	struct fst_options opt;
	struct fst_header h;
	struct fst_stats st;
	uint8_t f[100];
	char err[256], *text = NULL;
	size_t len = 0;
	FILE *mem;

	fst_options_default(&opt);
	ok(opt.black_threshold == 25 && opt.bins == 16 &&
	    opt.black_ratio == 0.98 && opt.frozen_threshold == 0.5,
	    "the defaults README.md states");
	opt.bins = 4;
	ok(fst_options_check(&opt, err, sizeof(err)) == 0, "4 bins are fine");
	ok(parse("YUV4MPEG2 W10 H10 F10:1 Cmono", &h, err, sizeof(err)) == 0 &&
	    fst_stats_init(&st, &opt, &h, err, sizeof(err)) == 0, "init");

	/* 0,1: black (1 identical: frozen too); 2: one bright pixel of 100,
	 * still black at 0.98 but not frozen; 3: 3 bright pixels, not black;
	 * 4: mid grey; 5: the same grey (frozen); 6: grey + 1 (a mean
	 * difference of 1, above 0.5: not frozen). */
	frame(f, 100, 0, 0);
	fst_stats_add(&st, f);
	fst_stats_add(&st, f);
	frame(f, 100, 0, 1);
	fst_stats_add(&st, f);
	frame(f, 100, 0, 3);
	fst_stats_add(&st, f);
	frame(f, 100, 128, 0);
	fst_stats_add(&st, f);
	fst_stats_add(&st, f);
	frame(f, 100, 129, 0);
	fst_stats_add(&st, f);

	is_int(st.frames, 7, "seven frames");
	is_int(st.black.frames, 3, "three black frames");
	is_int(st.black.n, 1, "  in one run");
	ok(st.black.v[0].start == 0 && st.black.v[0].end == 2, "  0 to 2");
	is_int(st.frozen.frames, 2, "two frozen frames");
	is_int(st.frozen.n, 2, "  in two runs");
	ok(st.frozen.v[0].start == 1 && st.frozen.v[0].end == 1 &&
	    st.frozen.v[1].start == 5 && st.frozen.v[1].end == 5,
	    "  frames 1 and 5");
	/* 4 bins of 64 values: 0..63, 64..127, 128..191, 192..255. */
	is_int(st.hist[0], 100 + 100 + 99 + 97, "bin 0: the black pixels");
	is_int(st.hist[1], 0, "bin 1: none");
	is_int(st.hist[2], 300, "bin 2: the grey frames");
	is_int(st.hist[3], 4, "bin 3: the bright pixels");
	ok(st.luma_min == 0 && st.luma_max == 129, "min and max of the means");

	mem = open_memstream(&text, &len);
	fst_write_json(mem, &st, "a \"clip\".mov");
	fclose(mem);
	is_str(text, "{\"input\":\"a \\\"clip\\\".mov\",\"frames\":7,"
	    "\"width\":10,\"height\":10,\"frame_rate\":10,\"duration\":0.7,"
	    "\"luma\":{\"mean\":56.457,\"min\":0,\"max\":129,\"bins\":4,"
	    "\"histogram\":[396,0,300,4]},"
	    "\"black\":{\"threshold\":25,\"ratio\":0.98,\"frames\":3,\"runs\":"
	    "[{\"start\":0,\"end\":2,\"count\":3,\"start_time\":0,"
	    "\"end_time\":0.3}]},"
	    "\"frozen\":{\"threshold\":0.5,\"frames\":2,\"runs\":"
	    "[{\"start\":1,\"end\":1,\"count\":1,\"start_time\":0.1,"
	    "\"end_time\":0.2},{\"start\":5,\"end\":5,\"count\":1,"
	    "\"start_time\":0.5,\"end_time\":0.6}]}}\n",
	    "the JSON, with the runs' times from the frame rate");
	free(text);
	fst_stats_free(&st);

	/* No rate: no times, null rate and duration. */
	ok(parse("YUV4MPEG2 W2 H1 Cmono", &h, err, sizeof(err)) == 0 &&
	    fst_stats_init(&st, &opt, &h, err, sizeof(err)) == 0, "init");
	frame(f, 2, 0, 0);
	fst_stats_add(&st, f);
	text = NULL;
	mem = open_memstream(&text, &len);
	fst_write_json(mem, &st, NULL);
	fclose(mem);
	ok(strstr(text, "\"frame_rate\":null,\"duration\":null") != NULL &&
	    strstr(text, "\"runs\":[{\"start\":0,\"end\":0,\"count\":1}]") !=
	    NULL && strstr(text, "\"input\":\"-\"") != NULL,
	    "without a frame rate: %s", text);
	free(text);
	fst_stats_free(&st);

	opt.bins = 0;
	ok(fst_options_check(&opt, err, sizeof(err)) == -1 &&
	    strstr(err, "--bins") != NULL, "0 bins refused: %s", err);
	fst_options_default(&opt);
	opt.black_ratio = 0;
	ok(fst_options_check(&opt, err, sizeof(err)) == -1 &&
	    strstr(err, "--black-ratio") != NULL, "ratio 0 refused");
	fst_options_default(&opt);
	opt.black_threshold = 256;
	ok(fst_options_check(&opt, err, sizeof(err)) == -1,
	    "threshold 256 refused");
}

int
main(void)
{
	plan_lazy();
	test_header();
	test_planes();
	test_stats();
	return done_testing();
}
