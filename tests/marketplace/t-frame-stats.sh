#!/bin/sh
# The marketplace's frame-stats program as a process: its command line,
# exit statuses and messages, a YUV4MPEG2 stream on stdin, and (where
# ffmpeg is installed) a real clip it decodes with ffmpeg. TAP.
: "${FRAME_STATS:?FRAME_STATS must point at marketplace/frame-stats/frame-stats}"
n=0
failed=0
T=$(mktemp -d /tmp/scriptorch-frame-stats.XXXXXX)
trap 'rm -rf "$T"' EXIT

ok_if() {	# ok_if NAME CONDITION (one string of shell)
	n=$((n + 1))
	if eval "$2"; then
		echo "ok $n - $1"
	else
		echo "not ok $n - $1"
		failed=$((failed + 1))
		sed 's/^/#   stderr: /' "$T/err" 2>/dev/null
		sed 's/^/#   stdout: /' "$T/out" 2>/dev/null
	fi
}

# y4m W H FRAMES VALUE...: a grey (mono) stream, one VALUE per frame.
y4m() {
	w=$1 h=$2
	shift 2
	printf 'YUV4MPEG2 W%s H%s F2:1 Ip A1:1 Cmono\n' "$w" "$h"
	for v in "$@"; do
		printf 'FRAME\n'
		head -c $((w * h)) /dev/zero | tr '\0' "\\$(printf '%03o' "$v")"
	done
}

fs() {	# fs ARGS...: runs the program; $rc, $T/out, $T/err
	timeout 60 "$FRAME_STATS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

y4m 4 2 0 0 200 200 201 >"$T/a.y4m"
fs - <"$T/a.y4m"
ok_if "a stream on stdin: exit 0" '[ $rc = 0 ]'
ok_if "  five frames of 4x2 at 2 fps" 'grep -q "\"frames\":5,\"width\":4,\"height\":2,\"frame_rate\":2,\"duration\":2.5" "$T/out"'
ok_if "  black frames 0-1, from 0 s to 1 s" 'grep -q "\"black\":{\"threshold\":25,\"ratio\":0.98,\"frames\":2,\"runs\":\[{\"start\":0,\"end\":1,\"count\":2,\"start_time\":0,\"end_time\":1}\]" "$T/out"'
ok_if "  frozen frames 1 and 3 (201 after 200 is a change of 1)" 'grep -q "\"frozen\":{\"threshold\":0.5,\"frames\":2,\"runs\":\[{\"start\":1,\"end\":1,\"count\":1,\"start_time\":0.5,\"end_time\":1},{\"start\":3,\"end\":3," "$T/out"'
ok_if "  nothing on stderr" '[ ! -s "$T/err" ]'

fs --bins 2 --black-threshold 0 --frozen-threshold 2 - <"$T/a.y4m"
ok_if "options: 2 bins" 'grep -q "\"bins\":2,\"histogram\":\[16,24\]" "$T/out"'
ok_if "  black threshold 0, frozen threshold 2" 'grep -q "\"black\":{\"threshold\":0,.*\"frozen\":{\"threshold\":2,\"frames\":3," "$T/out"'

fs --max-frames 2 - <"$T/a.y4m"
ok_if "--max-frames 2 reads two frames" '[ $rc = 0 ] && grep -q "\"frames\":2,\"width\"" "$T/out"'

head -c 60 "$T/a.y4m" >"$T/cut.y4m"
fs - <"$T/cut.y4m"
ok_if "a stream cut within a frame: exit 1, said so" '[ $rc = 1 ] && grep -q "ends within it" "$T/err" && [ ! -s "$T/out" ]'
fs - </dev/null
ok_if "an empty stdin: exit 1, no header" '[ $rc = 1 ] && grep -q "no YUV4MPEG2 header" "$T/err"'
printf 'YUV4MPEG2 W4 H2 C420p10\n' >"$T/p10.y4m"
fs - <"$T/p10.y4m"
ok_if "a 10-bit stream: exit 1, says to use gray" '[ $rc = 1 ] && grep -q "420p10.*gray" "$T/err"'

fs --bins 300 x
ok_if "--bins 300: exit 2" '[ $rc = 2 ] && grep -q -- "--bins" "$T/err"'
fs --black-ratio x x
ok_if "--black-ratio x: exit 2" '[ $rc = 2 ] && grep -q "is not a number" "$T/err"'
fs
ok_if "no INPUT: exit 2" '[ $rc = 2 ] && grep -q "no INPUT" "$T/err"'
fs --help
ok_if "--help: exit 0, the usage on stdout" '[ $rc = 0 ] && grep -q "^Usage: frame-stats" "$T/out"'
fs "$T/missing.mov"
ok_if "a missing input: exit 1, the file named" '[ $rc = 1 ] && grep -q "missing.mov.*No such file" "$T/err"'
fs --ffmpeg "$T/no-ffmpeg" "$T/a.y4m"
ok_if "no ffmpeg: exit 1, says it needs ffmpeg" '[ $rc = 1 ] && grep -q "needs ffmpeg" "$T/err"'

if command -v ffmpeg >/dev/null 2>&1; then
	ffmpeg -nostdin -v error -f lavfi -i "color=c=black:size=32x24:rate=10:duration=0.5" \
		-f lavfi -i "testsrc=size=32x24:rate=10:duration=1" \
		-filter_complex "[0][1]concat=n=2:v=1:a=0" -pix_fmt yuv420p -y "$T/clip.mkv" 2>"$T/err"
	fs "$T/clip.mkv"
	ok_if "a clip ffmpeg decodes: 15 frames of 32x24" '[ $rc = 0 ] && grep -q "\"frames\":15,\"width\":32,\"height\":24" "$T/out"'
	ok_if "  its first 5 frames black" 'grep -q "\"black\":{[^}]*\"frames\":5,\"runs\":\[{\"start\":0,\"end\":4," "$T/out"'
	fs --max-frames 3 "$T/clip.mkv"
	ok_if "  --max-frames 3 stops ffmpeg after 3" '[ $rc = 0 ] && grep -q "\"frames\":3,\"width\"" "$T/out"'
	echo "not a video" >"$T/text.mkv"
	fs "$T/text.mkv"
	ok_if "a file ffmpeg cannot decode: exit 1, ffmpeg's message and ours" '[ $rc = 1 ] && grep -q "could not decode" "$T/err"'
else
	n=$((n + 1))
	echo "ok $n - # SKIP ffmpeg is not installed: the decoding path is not tested"
fi

echo "1..$n"
[ "$failed" = 0 ]
