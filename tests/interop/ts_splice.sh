#!/usr/bin/env bash
# Interop tier, MPEG-TS splicing: ffmpeg and ffprobe judge streams spliced by relay-core's
# Splicer (relay-core/examples/ts_splice.rs) from TS files made here with ffmpeg, with different
# PIDs, PMT PIDs, timestamp bases (-output_ts_offset), B-frames and codecs. Each splice must
# decode with `ffmpeg -xerror` without a single error, show DTS strictly increasing per stream
# with no gap over half a second (`ffprobe -show_packets`) and no continuity-counter error; two
# controls (the same parts concatenated as bytes, and the splicer with PES holding off) must
# fail, so the checks are known to bite.
#
#   bash tests/interop/ts_splice.sh
#
# Environment: as run.sh (INTEROP_NO_INSTALL, INTEROP_KEEP), and
#   TS_SPLICE_BIN          the ts_splice example binary (default: `cargo build --release -p
#                          relay-core --example ts_splice` in the repository root)
#
# Output: one `ok - ...` / `not ok - ...` line per check, then `N passed, M failed`.
# Needs root (or ffmpeg already installed): installs ffmpeg with apt-get when missing.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

# ---------------------------------------------------------------- 1. tools

{ command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || apt_install ffmpeg
for tool in ffmpeg ffprobe python3; do
    command -v "$tool" >/dev/null 2>&1 || bail "tool $tool available" "not on PATH after install"
done

SPLICE=${TS_SPLICE_BIN:-}
if [ -z "$SPLICE" ]; then
    if ! (cd "$ROOT" && cargo build --release -p relay-core --example ts_splice) >"$WORK/build.log" 2>&1; then
        bail "ts_splice example built" "$(tail -n 20 "$WORK/build.log")"
    fi
    SPLICE=$ROOT/target/release/examples/ts_splice
fi
[ -x "$SPLICE" ] || bail "ts_splice binary" "$SPLICE is not executable"

# ---------------------------------------------------------------- 2. media

M=$WORK/media
mkdir -p "$M"
# make NAME SOURCE_FILTER TONE SECONDS ENCODER_ARGS... MUXER_ARGS...
make_ts() {
    local name=$1 src=$2 tone=$3 secs=$4
    shift 4
    ffmpeg -nostdin -hide_banner -v error -y \
        -f lavfi -i "$src" -f lavfi -i "sine=frequency=$tone:sample_rate=48000" \
        -t "$secs" -map 0:v -map 1:a -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
        -c:a aac -b:a 64k -ac 2 "$@" -f mpegts "$M/$name.ts" 2>>"$WORK/ffmpeg-media.log"
}
# A: x264 without B-frames, ffmpeg's default PIDs (PMT 0x1000, 0x100, 0x101), timestamps from 1.4 s.
# B: x264 with B-frames, PMT 0x1500, PIDs 0x300/0x301, timestamps from 1000 s.
# C: HEVC, PMT 0x1200, PIDs 0x400/0x401, timestamps from 50000 s.
make_ts a "testsrc2=size=320x240:rate=25" 440 12 -c:v libx264 -preset ultrafast \
    || bail "media A made with ffmpeg" "$(tail -n 20 "$WORK/ffmpeg-media.log")"
make_ts b "testsrc2=size=320x240:rate=25,hue=h=120" 880 12 -c:v libx264 -preset veryfast -bf 2 \
    -mpegts_pmt_start_pid 0x1500 -streamid 0:0x300 -streamid 1:0x301 -output_ts_offset 1000 \
    || bail "media B made with ffmpeg" "$(tail -n 20 "$WORK/ffmpeg-media.log")"
HAVE_HEVC=0
ENCODERS=$(ffmpeg -hide_banner -encoders 2>/dev/null || true)
if grep -q libx265 <<<"$ENCODERS"; then
    make_ts c "testsrc2=size=320x240:rate=25,hue=h=240" 660 6 -c:v libx265 -preset ultrafast \
        -x265-params log-level=error:keyint=25:min-keyint=25:scenecut=0 \
        -mpegts_pmt_start_pid 0x1200 -streamid 0:0x400 -streamid 1:0x401 -output_ts_offset 50000 \
        && HAVE_HEVC=1
fi
packets() { echo $(( $(stat -c %s "$1") / 188 )); }
NA=$(packets "$M/a.ts")
NB=$(packets "$M/b.ts")
# Cut A inside its GOPs (not at a frame boundary, most likely mid-frame), join B mid-GOP.
CUT_A=$(( NA * 45 / 100 + 3 ))
JOIN_B=$(( NB * 40 / 100 + 1 ))
note "A: $NA packets, cut at $CUT_A; B: $NB packets, joined at $JOIN_B; HEVC source: $HAVE_HEVC"

# ---------------------------------------------------------------- 3. helpers

# Splicer arguments: options first, then OUT, then inputs; `spliced OUT OPTIONS -- INPUTS`.
spliced() {
    local out=$1
    shift
    local opts=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
    shift
    "$SPLICE" "${opts[@]}" "$out" "$@" 2>"$out.stats" || { why "ts_splice failed: $(tail -n 3 "$out.stats")"; return 1; }
}
# decodes FILE: ffmpeg -xerror decodes it to null with no error at all.
decodes() {
    local errs
    if ! errs=$(ffmpeg -nostdin -hide_banner -xerror -v error -i "$1" -f null - 2>&1); then
        why "ffmpeg -xerror failed on $(basename "$1"): $(echo "$errs" | head -n 5)"
        return 1
    fi
    [ -z "$errs" ] || { why "ffmpeg reported errors: $(echo "$errs" | head -n 5)"; return 1; }
}
# timeline FILE MIN_VIDEO_FRAMES: DTS strictly increasing per stream, no gap over 0.5 s, at least
# MIN_VIDEO_FRAMES video packets (ffprobe -show_packets).
timeline() {
    local res
    res=$(ffprobe -v error -show_packets -show_entries packet=stream_index,dts_time,flags \
        -show_entries stream=index,codec_type -of json "$1" | python3 -c '
import json, sys
d = json.load(sys.stdin)
kind = {s["index"]: s["codec_type"] for s in d.get("streams", [])}
last, gap, n, bad = {}, {}, {}, []
for p in d.get("packets", []):
    if "dts_time" not in p:
        continue
    i, t = p["stream_index"], float(p["dts_time"])
    if i in last:
        if t <= last[i]:
            bad.append("stream %d: dts %.3f after %.3f" % (i, t, last[i]))
        gap[i] = max(gap.get(i, 0.0), t - last[i])
    last[i] = t
    n[i] = n.get(i, 0) + 1
video = sum(c for i, c in n.items() if kind.get(i) == "video")
for i, g in gap.items():
    if g > 0.5:
        bad.append("stream %d: a %.3f s gap" % (i, g))
if video < int(sys.argv[1]):
    bad.append("%d video packets, fewer than %s" % (video, sys.argv[1]))
print("; ".join(bad[:5]) if bad else "ok: %s packets per stream, largest gaps %s" % (n, {i: round(g, 3) for i, g in gap.items()}))
' "$2")
    if [ "${res#ok:}" = "$res" ]; then
        why "$(basename "$1"): $res"
        return 1
    fi
    note "$(basename "$1"): $res"
}
# counters FILE: ffmpeg's demuxer sees no continuity-counter error (reported at debug level).
counters() {
    local n
    n=$(ffmpeg -nostdin -hide_banner -v debug -i "$1" -f null - 2>&1 | grep -c 'Continuity check failed' || true)
    [ "$n" = 0 ] || { why "$n continuity-counter errors in $(basename "$1")"; return 1; }
}
# program FILE PMT_PID STREAMS: ffprobe's program PMT PID and the streams as "codec,id" words.
program() {
    local pmt got want
    pmt=$(ffprobe -v error -show_entries program=pmt_pid -of default=nw=1:nk=1 "$1")
    pmt=$(head -n 1 <<<"$pmt")
    [ "$pmt" = "$2" ] || why "PMT PID of $(basename "$1"): $pmt, want $2"
    got=$(ffprobe -v error -probesize 100M -analyzeduration 100M -show_entries stream=codec_name,id -of csv=p=0 "$1" | grep . | sort -u | tr '\n' ' ')
    want=$(printf '%s\n' $3 | sort -u | tr '\n' ' ')
    [ "$got" = "$want" ] || { why "streams of $(basename "$1"): [$got], want [$want]"; return 1; }
}
# (Outputs are read whole before filtering: a reader that stops early would kill the writer with
# SIGPIPE, which pipefail turns into a failure.)
video_frames() {
    local o
    o=$(ffprobe -v error -select_streams v:0 -count_packets -show_entries stream=nb_read_packets \
        -of csv=p=0 "$1")
    grep -m 1 . <<<"$o"
}
FA=$(video_frames "$M/a.ts")

# ---------------------------------------------------------------- 4. checks

S1=$WORK/a-cut-b.ts
check_cut_switch() {
    spliced "$S1" -- "$M/a.ts:0:$CUT_A" "$M/b.ts:$JOIN_B" || return 1
    decodes "$S1"
    # At least A's whole GOPs before the cut and B's whole GOPs after the join.
    timeline "$S1" $(( FA * 45 / 100 - 25 + FA * 60 / 100 - 50 ))
    counters "$S1"
    program "$S1" 4096 "h264,0x100 aac,0x101"
    grep -q 'splices: 1,' "$S1.stats" || why "splicer counters: $(cat "$S1.stats")"
}
check "A cut mid-GOP, B joined mid-GOP: ffmpeg -xerror decodes, DTS monotonic, counters continue, one program on A's PIDs" check_cut_switch

check_naive_fails() {
    # A's first part, then A again from 20 %: same PIDs, time going back, a join mid-GOP.
    local naive=$WORK/naive.ts good=$WORK/a-cut-a.ts join=$(( NA / 5 + 1 )) min
    min=$(( FA * 45 / 100 - 25 + FA * 80 / 100 - 25 ))
    head -c $(( CUT_A * 188 )) "$M/a.ts" >"$naive"
    tail -c +$(( join * 188 + 1 )) "$M/a.ts" >>"$naive"
    local d=0 t=0
    decodes "$naive" && d=1
    timeline "$naive" "$min" && t=1
    WHY=()
    [ $d = 0 ] && [ $t = 0 ] || why "the parts concatenated as bytes passed (decode ok: $d, timeline ok: $t): the checks do not bite"
    spliced "$good" -- "$M/a.ts:0:$CUT_A" "$M/a.ts:$join" || return 1
    decodes "$good"
    timeline "$good" "$min"
    counters "$good"
}
check "control: A cut then A again from 20 % fails decode and timeline as bytes, passes spliced" check_naive_fails

check_no_hold_fails() {
    local nh=$WORK/no-hold.ts held=$WORK/held.ts
    spliced "$nh" --no-hold -- "$M/a.ts:0:$CUT_A" "$M/b.ts:$JOIN_B" || return 1
    spliced "$held" -- "$M/a.ts:0:$CUT_A" "$M/b.ts:$JOIN_B" || return 1
    if decodes "$nh"; then
        why "with PES holding off the truncated last frame of A decoded cleanly: the check does not bite"
    else
        WHY=()
    fi
    decodes "$held"
}
check "control: without holding PES the cut leaves a truncated frame ffmpeg rejects; held, it does not" check_no_hold_fails

S3=$WORK/four-sources.ts
check_many_switches() {
    spliced "$S3" --nulls 200 --piece 1000 -- "$M/a.ts:0:$(( NA / 4 ))" "$M/b.ts:$(( NB / 3 )):$(( NB * 2 / 3 ))" \
        "$M/a.ts:$(( NA / 2 ))" "$M/b.ts:$(( NB / 5 ))" || return 1
    decodes "$S3"
    timeline "$S3" $(( FA * 80 / 100 ))
    counters "$S3"
    program "$S3" 4096 "h264,0x100 aac,0x101"
}
check "A → B → A → B with null-packet gaps, read in 1000-byte pieces: decodes, DTS monotonic, counters continue" check_many_switches

S4=$WORK/slate.ts
check_slate() {
    spliced "$S4" -- "$M/a.ts*3" || return 1
    decodes "$S4"
    timeline "$S4" $(( FA * 3 ))
    counters "$S4"
    local n
    n=$(video_frames "$S4")
    [ "$n" = $(( FA * 3 )) ] || why "slate looped 3 times has $n video frames, want $(( FA * 3 ))"
}
check "a slate looped three times: decodes, DTS monotonic across each loop, every frame 3 times" check_slate

check_codec_change() {
    local out=$WORK/codec-change.ts
    spliced "$out" -- "$M/a.ts:0:$CUT_A" "$M/c.ts:$(( $(packets "$M/c.ts") / 3 ))" "$M/b.ts:$JOIN_B" || return 1
    decodes "$out"
    counters "$out"
    program "$out" 4096 "h264,0x100 aac,0x101 hevc,0x400"
    grep -q 'pmt_versions: 3,' "$out.stats" || why "splicer counters: $(cat "$out.stats")"
}
if [ "$HAVE_HEVC" = 1 ]; then
    check "H.264 → HEVC → H.264: new PMT versions, HEVC on a PID of its own, ffmpeg -xerror decodes" check_codec_change
else
    note "skipped the codec change check: ffmpeg has no libx265"
fi

check_no_rewrite() {
    local out=$WORK/no-rewrite.ts
    spliced "$out" --no-rewrite -- "$M/a.ts:0:$CUT_A" "$M/b.ts:$JOIN_B" || return 1
    decodes "$out"
    counters "$out"
    # Timestamps kept: B's video resumes near its own 1000 s base.
    local t
    t=$(ffprobe -v error -select_streams v:0 -show_entries packet=dts_time -of csv=p=0 "$out")
    t=$(awk -F, '$1 > 900 { print; exit }' <<<"$t")
    [ -n "$t" ] || why "no packet kept B's timestamps (over 900 s)"
}
check "timestamps kept (--no-rewrite): ffmpeg -xerror decodes across the jump, B keeps its own clock" check_no_rewrite

summary
[ "$FAILED" = 0 ]
