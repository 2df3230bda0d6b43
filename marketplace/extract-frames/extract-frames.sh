#!/bin/sh
# extract-frames - a scriptorch marketplace item (README.md beside it).
# Writes frames of a video as numbered PNG or JPEG images: every frame, a
# number per second (fps), or every Nth frame, from the whole video or a
# time range. Its parameters come as INPUT_* variables (input_mode env);
# on success it prints the list of the frames written as one JSON object,
# and otherwise says what is wrong on stderr.
set -eu

fail() {
	printf 'extract-frames: %s\n' "$*" >&2
	exit 1
}

json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

in=${INPUT_INPUT:-}
outdir=${INPUT_OUTPUT_DIR:-}
format=${INPUT_FORMAT:-png}
fps=${INPUT_FPS:-0}
every=${INPUT_EVERY:-1}
start=${INPUT_START:-0}
duration=${INPUT_DURATION:-0}
start_number=${INPUT_START_NUMBER:-1}
prefix=${INPUT_PREFIX:-frame_}
digits=${INPUT_DIGITS:-6}
quality=${INPUT_JPEG_QUALITY:-2}
width=${INPUT_WIDTH:-0}
overwrite=${INPUT_OVERWRITE:-false}

command -v ffmpeg >/dev/null 2>&1 || fail "ffmpeg is not installed on this node (apt-get install ffmpeg)"

for p in "$in" "$outdir"; do
	case $p in *[[:cntrl:]]*) fail "paths with control characters are not accepted" ;; esac
done
[ -n "$in" ] || fail "input is empty: give the path of the video"
[ -e "$in" ] || fail "input \"$in\" does not exist"
[ -f "$in" ] || fail "input \"$in\" is not a regular file"
[ -r "$in" ] || fail "input \"$in\" cannot be read by this run's user"
case $outdir in
/*) ;;
*) fail "output_dir must be an absolute path, not \"$outdir\"" ;;
esac
[ -d "$outdir" ] || fail "output_dir \"$outdir\" does not exist"
[ -w "$outdir" ] || fail "this run's user cannot write in \"$outdir\""

number() { # number NAME VALUE MIN MAX
	awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN {
		if (v !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ||
		    v + 0 < lo || v + 0 > hi) exit 1
	}' || fail "$1 must be a number from $3 to $4, not \"$2\""
}
integer() { # integer NAME VALUE MIN MAX
	case $2 in
	'' | *[!0-9]*) fail "$1 must be a whole number from $3 to $4, not \"$2\"" ;;
	esac
	[ "$2" -ge "$3" ] && [ "$2" -le "$4" ] ||
		fail "$1 must be a whole number from $3 to $4, not \"$2\""
}
number fps "$fps" 0 1000
number start "$start" 0 1000000
number duration "$duration" 0 1000000
integer every "$every" 1 100000
integer start_number "$start_number" 0 1000000000
integer digits "$digits" 1 10
integer jpeg_quality "$quality" 2 31
integer width "$width" 0 16384
case $format in
png | jpg) ;;
*) fail "format must be png or jpg, not \"$format\"" ;;
esac
case $prefix in
*[!A-Za-z0-9._-]*) fail "prefix may hold only letters, digits, '.', '_' and '-', not \"$prefix\"" ;;
esac
if awk -v v="$fps" 'BEGIN { exit !(v + 0 > 0) }' && [ "$every" -gt 1 ]; then
	fail "give fps or every, not both"
fi

# What is selected, then the optional resize.
vf=
if awk -v v="$fps" 'BEGIN { exit !(v + 0 > 0) }'; then
	vf="fps=$fps"
	mode="fps"
elif [ "$every" -gt 1 ]; then
	vf="select=not(mod(n\\,$every))"
	mode="every"
else
	mode="all"
fi
if [ "$width" -gt 0 ]; then
	vf="${vf:+$vf,}scale=$width:-2"
fi
range=
if awk -v v="$start" 'BEGIN { exit !(v + 0 > 0) }'; then
	range="-ss $start"
fi
limit=
if awk -v v="$duration" 'BEGIN { exit !(v + 0 > 0) }'; then
	limit="-t $duration"
fi
enc=
[ "$format" = jpg ] && enc="-q:v $quality"
pattern="$prefix%0${digits}d.$format"

# Written into a stage in the work dir first, so that the list is
# exactly what this run wrote and nothing in output_dir is touched before
# every frame is there.
stage=./frames
rm -rf "$stage"
mkdir "$stage"
# shellcheck disable=SC2086 # $range, $limit, $enc are words or none
ffmpeg -nostdin -hide_banner -loglevel error $range -i "$in" $limit \
	-map 0:v:0 ${vf:+-vf "$vf"} -fps_mode vfr -start_number "$start_number" $enc \
	"$stage/$pattern" ||
	fail "ffmpeg could not extract frames from \"$in\" (its message is above)"

files=$(cd "$stage" && ls | LC_ALL=C sort)
[ -n "$files" ] || fail "no frame was extracted from \"$in\": does start lie past its end?"
if [ "$overwrite" != true ]; then
	for f in $files; do
		[ ! -e "$outdir/$f" ] ||
			fail "\"$outdir/$f\" exists: set overwrite to true to replace frames, or choose another prefix or start_number"
	done
fi
count=0
list=
for f in $files; do
	mv -f "$stage/$f" "$outdir/$f"
	n=${f#"$prefix"}
	n=${n%."$format"}
	n=$(awk -v n="$n" 'BEGIN { print n + 0 }')
	list="$list${list:+,}{\"number\":$n,\"file\":$(json_str "$outdir/$f")}"
	count=$((count + 1))
done

printf '{"output_dir":%s,"pattern":%s,"format":"%s","mode":"%s","count":%d,"frames":[%s]}\n' \
	"$(json_str "$outdir")" "$(json_str "$pattern")" "$format" "$mode" "$count" "$list"
