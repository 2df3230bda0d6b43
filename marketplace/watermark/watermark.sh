#!/bin/sh
# watermark - a scriptorch marketplace item (README.md beside it).
# Puts an image (overlay) and/or a line of text (drawtext) on a video at a
# chosen corner or its centre, with a margin, an opacity and a size, and
# optionally burns in a running timecode. Its parameters come as INPUT_*
# variables (input_mode env); it prints one JSON object on success and
# says what is wrong on stderr otherwise.
set -eu

fail() {
	printf 'watermark: %s\n' "$*" >&2
	exit 1
}

json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

in=${INPUT_INPUT:-}
out=${INPUT_OUTPUT:-}
image=${INPUT_IMAGE:-}
text=${INPUT_TEXT:-}
position=${INPUT_POSITION:-bottom-right}
text_position=${INPUT_TEXT_POSITION:-same}
margin=${INPUT_MARGIN:-24}
opacity=${INPUT_OPACITY:-0.5}
scale=${INPUT_SCALE:-0.15}
font=${INPUT_FONT:-}
font_size=${INPUT_FONT_SIZE:-0}
font_color=${INPUT_FONT_COLOR:-white}
timecode=${INPUT_TIMECODE:-false}
tc_start=${INPUT_TIMECODE_START:-00:00:00:00}
tc_position=${INPUT_TIMECODE_POSITION:-top-left}
crf=${INPUT_CRF:-18}
overwrite=${INPUT_OVERWRITE:-false}

command -v ffmpeg >/dev/null 2>&1 || fail "ffmpeg is not installed on this node (apt-get install ffmpeg)"
command -v ffprobe >/dev/null 2>&1 || fail "ffprobe is not installed on this node (apt-get install ffmpeg)"

for p in "$in" "$out" "$image" "$font"; do
	case $p in *[[:cntrl:]]*) fail "paths with control characters are not accepted" ;; esac
done
[ -n "$in" ] || fail "input is empty: give the path of the video to mark"
[ -e "$in" ] || fail "input \"$in\" does not exist"
[ -f "$in" ] || fail "input \"$in\" is not a regular file"
[ -r "$in" ] || fail "input \"$in\" cannot be read by this run's user"
case $out in
/*) ;;
*) fail "output must be an absolute path, not \"$out\"" ;;
esac
outdir=$(dirname "$out")
[ -d "$outdir" ] || fail "the directory of output, \"$outdir\", does not exist"
[ -w "$outdir" ] || fail "this run's user cannot write in \"$outdir\""
if [ -e "$out" ] && [ "$overwrite" != true ]; then
	fail "output \"$out\" exists: set overwrite to true to replace it"
fi
if [ -z "$image" ] && [ -z "$text" ] && [ "$timecode" != true ]; then
	fail "nothing to put on the video: give image, text, or timecode true"
fi
if [ -n "$image" ]; then
	[ -f "$image" ] || fail "image \"$image\" does not exist"
	[ -r "$image" ] || fail "image \"$image\" cannot be read by this run's user"
fi

number() { # number NAME VALUE MIN MAX
	awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN {
		if (v !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ||
		    v + 0 < lo || v + 0 > hi) exit 1
	}' || fail "$1 must be a number from $3 to $4, not \"$2\""
}
number margin "$margin" 0 10000
number opacity "$opacity" 0 1
number scale "$scale" 0.01 1
number font_size "$font_size" 0 1000
number crf "$crf" 0 51
margin=$(awk -v v="$margin" 'BEGIN { printf "%d", v + 0 }')
font_size=$(awk -v v="$font_size" 'BEGIN { printf "%d", v + 0 }')
case $font_color in
'' | *[!A-Za-z0-9#]*) fail "font_color must be a colour name (white) or #RRGGBB, not \"$font_color\"" ;;
esac
case $tc_start in
[0-9][0-9]:[0-5][0-9]:[0-5][0-9][:\;][0-9][0-9]) ;;
*) fail "timecode_start must be HH:MM:SS:FF (or HH:MM:SS;FF for drop frame), not \"$tc_start\"" ;;
esac

# The corner's coordinates, for overlay (main_w, overlay_w) or drawtext
# (w, tw).
place() { # place POSITION W w H h
	case $1 in
	top-left) echo "$margin:$margin" ;;
	top-right) echo "$2-$3-$margin:$margin" ;;
	bottom-left) echo "$margin:$4-$5-$margin" ;;
	bottom-right) echo "$2-$3-$margin:$4-$5-$margin" ;;
	center) echo "($2-$3)/2:($4-$5)/2" ;;
	*) fail "unknown position \"$1\": top-left, top-right, bottom-left, bottom-right or center" ;;
	esac
}
img_xy=$(place "$position" main_w overlay_w main_h overlay_h)
[ "$text_position" != same ] || text_position=$position
txt_xy=$(place "$text_position" w tw h th)
tc_xy=$(place "$tc_position" w tw h th)
txt_x=${txt_xy%%:*} txt_y=${txt_xy#*:}
tc_x=${tc_xy%%:*} tc_y=${tc_xy#*:}

# The video's size and frame rate.
probe=$(ffprobe -v error -select_streams v:0 -show_entries stream=width,height,r_frame_rate \
	-of default=noprint_wrappers=1 "$in") || fail "ffprobe cannot read \"$in\" (its message is above)"
width=$(printf '%s\n' "$probe" | sed -n 's/^width=//p')
height=$(printf '%s\n' "$probe" | sed -n 's/^height=//p')
rate=$(printf '%s\n' "$probe" | sed -n 's/^r_frame_rate=//p')
[ -n "$width" ] && [ -n "$height" ] || fail "\"$in\" has no video stream"
[ "$font_size" -gt 0 ] || font_size=$(( (height * 5 + 99) / 100 ))

# The font: the one given, else DejaVu Sans when it is there, else
# fontconfig's Sans. Named in the filter by plain relative paths (the
# run's work dir is the current directory), as is the text, so that
# nothing the caller wrote needs the filter's escaping.
fontopt=font=Sans
if [ -n "$font" ]; then
	[ -f "$font" ] || fail "font \"$font\" does not exist"
	ln -sf "$font" ./wm-font
	fontopt=fontfile=wm-font
elif [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
	ln -sf /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ./wm-font
	fontopt=fontfile=wm-font
fi

chain="[0:v:0]null"
inputs=
if [ -n "$image" ]; then
	wm_w=$(awk -v w="$width" -v s="$scale" 'BEGIN { v = int(w * s / 2 + 0.5) * 2; print v < 2 ? 2 : v }')
	inputs="-i"
	chain="[1:v]format=rgba,colorchannelmixer=aa=$opacity,scale=$wm_w:-2[wm];${chain}[base];[base][wm]overlay=$img_xy:format=auto"
fi
if [ -n "$text" ]; then
	printf '%s' "$text" >./wm-text
	chain="$chain,drawtext=$fontopt:textfile=wm-text:expansion=none:fontsize=$font_size:fontcolor=$font_color@$opacity:x=$txt_x:y=$txt_y"
fi
if [ "$timecode" = true ]; then
	tc=$(printf '%s' "$tc_start" | sed -e 's/:/\\:/g' -e 's/;/\\;/g')
	chain="$chain,drawtext=$fontopt:timecode='$tc':rate=$rate:fontsize=$font_size:fontcolor=$font_color:box=1:boxcolor=black@0.6:boxborderw=4:x=$tc_x:y=$tc_y"
fi
chain="$chain,format=yuv420p[v]"

# shellcheck disable=SC2086 # $inputs is a word or none on purpose
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$in" $inputs ${image:+"$image"} \
	-filter_complex "$chain" -map '[v]' -map '0:a?' \
	-c:v libx264 -preset medium -crf "$crf" -c:a copy "$out" ||
	fail "ffmpeg could not mark \"$in\" (its message is above)"

printf '{"output":%s,"width":%s,"height":%s,"image":%s,"text":%s,"timecode":%s,"position":"%s"}\n' \
	"$(json_str "$out")" "$width" "$height" \
	"$( [ -n "$image" ] && json_str "$image" || echo null)" \
	"$( [ -n "$text" ] && echo true || echo false)" \
	"$( [ "$timecode" = true ] && echo true || echo false)" "$position"
