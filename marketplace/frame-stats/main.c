/*
 * frame-stats - the marketplace's binary item: statistics over the frames
 * of a video (mean luma, a luma histogram, black and frozen frames),
 * printed as one JSON object on stdout.
 *
 *   frame-stats [OPTIONS] INPUT
 *
 * INPUT is a media file: the program starts ffmpeg, which decodes its
 * first video stream and pipes the frames in as 8-bit grey YUV4MPEG2
 * (-f yuv4mpegpipe -pix_fmt gray). INPUT "-" reads such a stream from
 * stdin instead (ffmpeg ... -f yuv4mpegpipe - | frame-stats -).
 * README.md beside it documents the options and the output; framestats.h
 * holds the statistics.
 *
 * Exit status: 0 with the JSON on stdout; 1 when the input could not be
 * read (missing file, ffmpeg failed, no frames), with the reason on
 * stderr; 2 for a bad command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framestats.h"

extern char **environ;

static const char *prog = "frame-stats";

static void __attribute__((format(printf, 1, 2)))
complain(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void
usage(FILE *f)
{
	fputs("Usage: frame-stats [OPTIONS] INPUT\n"
	    "\n"
	    "Statistics over the frames of INPUT's first video stream, as JSON on\n"
	    "stdout: mean luma, a luma histogram, runs of black and of frozen frames.\n"
	    "INPUT is a media file (decoded by ffmpeg), or - for a YUV4MPEG2 stream\n"
	    "of 8-bit frames on stdin (ffmpeg ... -f yuv4mpegpipe -pix_fmt gray -).\n"
	    "\n"
	    "  --black-threshold N   a pixel whose luma (0-255) is at most N is black\n"
	    "                        (default 25)\n"
	    "  --black-ratio R       a frame is black when at least this fraction of\n"
	    "                        its pixels is black (default 0.98)\n"
	    "  --frozen-threshold D  a frame is frozen when the mean absolute luma\n"
	    "                        difference to the frame before is below D\n"
	    "                        (default 0.5)\n"
	    "  --bins B              histogram bins, 1 to 256 (default 16)\n"
	    "  --max-frames N        read at most N frames (0, the default: all)\n"
	    "  --ffmpeg PATH         the ffmpeg to run (default: ffmpeg in PATH)\n"
	    "  -h, --help            this help\n", f);
}

/* Reads exactly n bytes: 1, 0 at a clean end of stream before any byte,
 * -1 on an error or an end within them (errno 0 for the latter). */
static int
read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0) {
			if (got == 0)
				return 0;
			errno = 0;
			return -1;
		}
		got += (size_t)r;
	}
	return 1;
}

/* Reads one line of at most cap - 1 bytes into buf (without its newline,
 * NUL-terminated): 1, 0 at a clean end before it, -1 for a line too long,
 * an error, or an end within it. */
static int
read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;

	for (;;) {
		char c;
		int r = read_full(fd, &c, 1);
		if (r <= 0)
			return n == 0 && r == 0 ? 0 : -1;
		if (c == '\n')
			break;
		if (n + 1 >= cap)
			return -1;
		buf[n++] = c;
	}
	buf[n] = '\0';
	*len = n;
	return 1;
}

/* Skips n bytes of the stream (the chroma planes). */
static int
skip(int fd, uint8_t *scratch, size_t scratch_len, size_t n)
{
	while (n > 0) {
		size_t k = n < scratch_len ? n : scratch_len;
		if (read_full(fd, scratch, k) != 1)
			return -1;
		n -= k;
	}
	return 0;
}

/* Starts ffmpeg decoding `input` into a pipe: its read end, or -1 after
 * saying why. */
static int
start_ffmpeg(const char *ffmpeg, const char *input, long long max_frames,
    pid_t *pid)
{
	posix_spawn_file_actions_t fa;
	char frames[32];
	char *argv[24];
	int p[2], n = 0, rc;

	if (pipe2(p, O_CLOEXEC) == -1) {
		complain("pipe: %s", strerror(errno));
		return -1;
	}
	argv[n++] = (char *)ffmpeg;
	argv[n++] = "-nostdin";
	argv[n++] = "-hide_banner";
	argv[n++] = "-loglevel";
	argv[n++] = "error";
	argv[n++] = "-i";
	argv[n++] = (char *)input;
	argv[n++] = "-map";
	argv[n++] = "0:v:0";
	argv[n++] = "-an";
	argv[n++] = "-sn";
	argv[n++] = "-dn";
	if (max_frames > 0) {
		snprintf(frames, sizeof(frames), "%lld", max_frames);
		argv[n++] = "-frames:v";
		argv[n++] = frames;
	}
	argv[n++] = "-pix_fmt";
	argv[n++] = "gray";
	argv[n++] = "-f";
	argv[n++] = "yuv4mpegpipe";
	argv[n++] = "-";
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	rc = posix_spawnp(pid, ffmpeg, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0) {
		complain("cannot run \"%s\": %s (frame-stats needs ffmpeg: "
		    "install it, or give its path with --ffmpeg)", ffmpeg,
		    strerror(rc));
		close(p[0]);
		return -1;
	}
	return p[0];
}

/* Waits for ffmpeg: 0 when it exited 0, else -1 after saying how it
 * ended. */
static int
reap(pid_t pid, const char *input)
{
	int st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			complain("waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		complain("ffmpeg could not decode \"%s\" (exit status %d; its "
		    "message is above)", input, WEXITSTATUS(st));
	else
		complain("ffmpeg, decoding \"%s\", was killed by signal %d",
		    input, WTERMSIG(st));
	return -1;
}

/* A number option's value, or -1 after saying it is not one. */
static int
number(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	if (errno || end == s || *end != '\0' || !(*out >= lo && *out <= hi)) {
		complain("%s: \"%s\" is not a number from %g to %g", opt, s, lo,
		    hi);
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "black-threshold", required_argument, NULL, 't' },
		{ "black-ratio", required_argument, NULL, 'r' },
		{ "frozen-threshold", required_argument, NULL, 'z' },
		{ "bins", required_argument, NULL, 'b' },
		{ "max-frames", required_argument, NULL, 'm' },
		{ "ffmpeg", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct fst_options opt;
	struct fst_header h;
	struct fst_stats st;
	const char *ffmpeg = "ffmpeg", *input;
	char line[1024], err[256];
	uint8_t *luma = NULL, scratch[65536];
	long long max_frames = 0;
	pid_t pid = -1;
	size_t len;
	double d;
	int c, fd = -1, rc = 1, r;

	memset(&st, 0, sizeof(st));
	fst_options_default(&opt);
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (number("--black-threshold", optarg, 0, 255, &d) == -1)
				return 2;
			opt.black_threshold = (int)d;
			if (d != opt.black_threshold) {
				complain("--black-threshold: give a whole number");
				return 2;
			}
			break;
		case 'r':
			if (number("--black-ratio", optarg, 0, 1, &opt.black_ratio)
			    == -1)
				return 2;
			break;
		case 'z':
			if (number("--frozen-threshold", optarg, 0, 255,
			    &opt.frozen_threshold) == -1)
				return 2;
			break;
		case 'b':
			if (number("--bins", optarg, 1, FST_MAX_BINS, &d) == -1)
				return 2;
			opt.bins = (int)d;
			break;
		case 'm':
			if (number("--max-frames", optarg, 0, 1e12, &d) == -1)
				return 2;
			max_frames = (long long)d;
			break;
		case 'f':
			ffmpeg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		complain(optind < argc ? "one INPUT, please" : "no INPUT given");
		usage(stderr);
		return 2;
	}
	if (fst_options_check(&opt, err, sizeof(err)) == -1) {
		complain("%s", err);
		return 2;
	}
	input = argv[optind];
	/* The child ends when we stop reading; its SIGPIPE is its own. */
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(input, "-") == 0) {
		fd = 0;
	} else {
		struct stat sb;
		if (stat(input, &sb) == -1) {
			complain("input \"%s\": %s", input, strerror(errno));
			goto out;
		}
		if (!S_ISREG(sb.st_mode)) {
			complain("input \"%s\" is not a regular file", input);
			goto out;
		}
		if ((fd = start_ffmpeg(ffmpeg, input, max_frames, &pid)) == -1)
			goto out;
	}

	r = read_line(fd, line, sizeof(line), &len);
	if (r <= 0) {
		if (pid == -1)
			complain("no YUV4MPEG2 header on stdin");
		goto out;	/* ffmpeg says why (reaped below) */
	}
	if (fst_header_parse(line, len, &h, err, sizeof(err)) == -1 ||
	    fst_stats_init(&st, &opt, &h, err, sizeof(err)) == -1) {
		complain("%s", err);
		goto out;
	}
	if ((luma = malloc(h.luma_bytes)) == NULL) {
		complain("out of memory for a %dx%d frame", h.width, h.height);
		goto out;
	}
	for (;;) {
		if (max_frames > 0 && st.frames >= max_frames)
			break;
		r = read_line(fd, line, sizeof(line), &len);
		if (r == 0)
			break;
		if (r < 0 || len < 5 || memcmp(line, "FRAME", 5) != 0) {
			complain("frame %lld: the stream is cut or is not "
			    "YUV4MPEG2", st.frames);
			goto out;
		}
		if (read_full(fd, luma, h.luma_bytes) != 1 ||
		    skip(fd, scratch, sizeof(scratch), h.chroma_bytes) == -1) {
			complain("frame %lld: the stream ends within it",
			    st.frames);
			goto out;
		}
		fst_stats_add(&st, luma);
	}
	if (st.frames == 0) {
		complain("\"%s\" has no video frame", input);
		goto out;
	}
	rc = 0;
out:
	if (pid != -1) {
		if (fd >= 0)
			close(fd);
		fd = -1;
		if (reap(pid, input) == -1 && max_frames == 0)
			rc = 1;
	}
	if (rc == 0) {
		fst_write_json(stdout, &st, input);
		if (fflush(stdout) == EOF) {
			complain("cannot write the result: %s", strerror(errno));
			rc = 1;
		}
	}
	free(luma);
	fst_stats_free(&st);
	return rc;
}
