#!/bin/sh
# color-correct - a scriptorch marketplace item (README.md beside it).
# Applies a 3D LUT (.cube) to a video with ffmpeg's lut3d filter, with an
# optional exposure change before it and a saturation change after it,
# and writes BT.709-tagged video. Its parameters come as INPUT_*
# variables (input_mode env); it prints one JSON object on success and
# says what is wrong on stderr otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
fail() {
	printf 'color-correct: %s\n' "$*" >&2
	exit 1
}

# json_str TEXT: TEXT as a JSON string (the paths this prints were
# checked to hold no control characters).
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

in=${INPUT_INPUT:-}
out=${INPUT_OUTPUT:-}
lut=${INPUT_LUT:-identity}
interp=${INPUT_INTERPOLATION:-tetrahedral}
exposure=${INPUT_EXPOSURE:-0}
saturation=${INPUT_SATURATION:-1}
codec=${INPUT_CODEC:-h264}
crf=${INPUT_CRF:-18}
overwrite=${INPUT_OVERWRITE:-false}

command -v ffmpeg >/dev/null 2>&1 || fail "ffmpeg is not installed on this node (apt-get install ffmpeg)"

for p in "$in" "$out" "$lut"; do
	case $p in *[[:cntrl:]]*) fail "paths with control characters are not accepted" ;; esac
done
[ -n "$in" ] || fail "input is empty: give the path of the video to correct"
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
[ "$(cd "$(dirname "$in")" && pwd)/$(basename "$in")" != "$out" ] ||
	fail "output must not be the input"

# The LUT: a shipped one by name, or a .cube file by absolute path.
shipped=$(cd "$here/luts" && ls -- *.cube | sed 's/\.cube$//' | tr '\n' ' ')
case $lut in
/*)
	case $lut in *.cube) ;; *) fail "LUT file \"$lut\" is not a .cube file" ;; esac
	[ -f "$lut" ] || fail "LUT file \"$lut\" does not exist"
	[ -r "$lut" ] || fail "LUT file \"$lut\" cannot be read by this run's user"
	lutfile=$lut
	;;
*)
	case $lut in
	'' | *[!a-z0-9-]*) lutfile= ;;
	*) lutfile=$here/luts/$lut.cube ;;
	esac
	[ -n "$lutfile" ] && [ -f "$lutfile" ] ||
		fail "unknown LUT \"$lut\": give one of: ${shipped}or the absolute path of a .cube file"
	;;
esac
# Named in the filter by a plain relative path (the run's work dir is the
# current directory), so that no path ever needs the filter's escaping.
ln -sf "$lutfile" ./lut.cube

case $interp in
nearest | trilinear | tetrahedral | pyramid | prism) ;;
*) fail "unknown interpolation \"$interp\": nearest, trilinear, tetrahedral, pyramid or prism" ;;
esac
number() { # number NAME VALUE MIN MAX
	awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN {
		if (v !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/ ||
		    v + 0 < lo || v + 0 > hi) exit 1
	}' || fail "$1 must be a number from $3 to $4, not \"$2\""
}
number exposure "$exposure" -3 3
number saturation "$saturation" 0 3
number crf "$crf" 0 51
# As JSON numbers, whatever form they came in.
exposure=$(awk -v v="$exposure" 'BEGIN { printf "%g", v + 0 }')
saturation=$(awk -v v="$saturation" 'BEGIN { printf "%g", v + 0 }')

# The chain: the input read as BT.709 video into RGB (float when the
# exposure changes), the exposure in stops, the LUT, back to BT.709 YUV,
# then the saturation.
vf="scale=in_color_matrix=bt709:in_range=tv"
if awk -v v="$exposure" 'BEGIN { exit !(v + 0 != 0) }'; then
	vf="$vf,format=gbrpf32le,exposure=exposure=$exposure"
else
	vf="$vf,format=gbrp"
fi
vf="$vf,lut3d=file=lut.cube:interp=$interp"
case $codec in
h264) pix=yuv420p enc="-c:v libx264 -preset medium -crf $crf" ;;
prores) pix=yuv422p10le enc="-c:v prores_ks -profile:v 3" ;;
ffv1) pix=yuv444p enc="-c:v ffv1 -level 3" ;;
*) fail "unknown codec \"$codec\": h264, prores or ffv1" ;;
esac
vf="$vf,scale=out_color_matrix=bt709:out_range=tv,format=yuv444p"
if awk -v v="$saturation" 'BEGIN { exit !(v + 0 != 1) }'; then
	vf="$vf,eq=saturation=$saturation"
fi
# The frames carry the tags too (ProRes writes the frames' own).
vf="$vf,format=$pix,setparams=range=tv:color_primaries=bt709:color_trc=bt709:colorspace=bt709"

# shellcheck disable=SC2086 # $enc is words on purpose
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$in" \
	-map 0:v:0 -map '0:a?' -vf "$vf" $enc -c:a copy \
	-colorspace bt709 -color_primaries bt709 -color_trc bt709 \
	-color_range tv "$out" ||
	fail "ffmpeg could not correct \"$in\" (its message is above)"

printf '{"output":%s,"lut":%s,"interpolation":"%s","exposure":%s,"saturation":%s,"codec":"%s"}\n' \
	"$(json_str "$out")" "$(json_str "$lut")" "$interp" "$exposure" \
	"$saturation" "$codec"
