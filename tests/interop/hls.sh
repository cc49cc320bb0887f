#!/usr/bin/env bash
# Interop tier, HLS part: real clients (ffprobe, ffmpeg, mpv, VLC, streamlink, hls.js in headless
# Chromium) play HLS channels through the relay, with a local origin (origin.py --hls) serving
# HLS media made here with ffmpeg: a master playlist with two video variants and an alternate
# audio rendition, AES-128 with a relative key URI, fMP4 with EXT-X-MAP, a live sliding window,
# and the master behind a 302 with a query-string variant and a cross-path absolute URI.
#
#   bash tests/interop/hls.sh
#
# Environment: as run.sh (RELAY_BIN, RELAY_BUILD_PROFILE, INTEROP_NO_INSTALL, INTEROP_KEEP), and
#   INTEROP_TOOLS          where streamlink (a python venv) and hls.js (npm) are installed and
#                          kept between runs (default: target/interop-tools in the repository)
#
# Output: one `ok - ...` / `not ok - ...` line per check, then `N passed, M failed`.
# Needs root (or the tools already there): installs ffmpeg, mpv, vlc-bin, vlc-plugin-base, curl,
# chromium, npm and python3-venv with apt-get when missing; streamlink with pip into a venv and
# hls.js with npm (both from their public registries) under INTEROP_TOOLS.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

TOOLS=${INTEROP_TOOLS:-$ROOT/target/interop-tools}
mkdir -p "$TOOLS"

# ---------------------------------------------------------------- 1. tools

install_tools() {
    local pkgs=()
    { command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || pkgs+=(ffmpeg)
    command -v mpv >/dev/null 2>&1 || pkgs+=(mpv)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    # VLC's HLS support (the adaptive demuxer) and AES-128 come with vlc-plugin-base
    command -v cvlc >/dev/null 2>&1 || pkgs+=(vlc-bin)
    pkg_installed vlc-plugin-base || pkgs+=(vlc-plugin-base)
    command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
    # Debian's python3 makes venvs only with python3-venv (ensurepip)
    if ! command -v streamlink >/dev/null 2>&1 && [ ! -x "$TOOLS/venv/bin/streamlink" ] \
        && ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        pkgs+=(python3-venv)
    fi
    if [ ${#pkgs[@]} -eq 0 ]; then
        note "tools: all Debian packages present; nothing to install"
        return 0
    fi
    apt_install "${pkgs[@]}"
}
install_tools
for tool in ffmpeg ffprobe mpv cvlc curl chromium python3 timeout sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || bail "tool $tool available" "not on PATH after install"
done

# streamlink (pip into a venv) and hls.js (npm): a failed install fails their checks only.
STREAMLINK=
install_streamlink() {
    if command -v streamlink >/dev/null 2>&1; then
        STREAMLINK=$(command -v streamlink)
        return 0
    fi
    if [ ! -x "$TOOLS/venv/bin/streamlink" ]; then
        note "installing streamlink with pip into $TOOLS/venv"
        local t
        t=$(date +%s)
        rm -rf "$TOOLS/venv"
        python3 -m venv "$TOOLS/venv" >"$WORK/pip.log" 2>&1 \
            && "$TOOLS/venv/bin/pip" install --disable-pip-version-check -q streamlink >>"$WORK/pip.log" 2>&1 \
            || { why "pip install streamlink failed: $(tail -n 5 "$WORK/pip.log")"; return 1; }
        note "pip install took $(( $(date +%s) - t )) s"
    fi
    STREAMLINK=$TOOLS/venv/bin/streamlink
    "$STREAMLINK" --version >"$WORK/streamlink.version" 2>&1 \
        || { why "streamlink does not run: $(cat "$WORK/streamlink.version")"; STREAMLINK=; return 1; }
    note "$(cat "$WORK/streamlink.version")"
}
check "streamlink available (pip, in a venv under $TOOLS)" install_streamlink

HLSJS=$TOOLS/node_modules/hls.js/dist
install_hlsjs() {
    if [ ! -f "$HLSJS/hls.min.js" ]; then
        note "installing hls.js@1 with npm into $TOOLS"
        local t
        t=$(date +%s)
        npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error hls.js@1 \
            >"$WORK/npm.log" 2>&1 || { why "npm install hls.js@1 failed: $(tail -n 5 "$WORK/npm.log")"; return 1; }
        note "npm install took $(( $(date +%s) - t )) s"
    fi
    [ -f "$HLSJS/hls.min.js" ] || why "no $HLSJS/hls.min.js after npm install"
    note "hls.js $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' \
        "$TOOLS/node_modules/hls.js/package.json" 2>/dev/null), $(chromium --version 2>/dev/null)"
    no_reasons
}
check "hls.js available (npm, under $TOOLS)" install_hlsjs

if [ "$(id -u)" = 0 ]; then note "VLC runs as nobody (runuser -u nobody -- cvlc ...), VLC refuses root"; fi

# ---------------------------------------------------------------- 2. media

HLS=$WORK/hls
mkdir -p "$HLS/master" "$HLS/aes" "$HLS/fmp4" "$HLS/live"
t=$(date +%s)
# 16 s of test picture and tone; a keyframe every 2 s, so every segment is 2 s
SRC=(-f lavfi -i "testsrc2=size=320x180:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000"
    -t 16 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0
    -c:a aac -b:a 64k -ac 2)
HLSOPT=(-f hls -hls_time 2)
head -c 16 /dev/urandom >"$HLS/aes/enc.key"
printf 'enc.key\n%s\n' "$HLS/aes/enc.key" >"$WORK/keyinfo"
FF=(ffmpeg -nostdin -hide_banner -v error -y)
if ! { "${FF[@]}" "${SRC[@]}" -map 0:v -map 0:v -map 1:a -filter:v:1 scale=160:90 -b:v:0 400k -b:v:1 150k \
        "${HLSOPT[@]}" -hls_playlist_type vod -hls_segment_filename "$HLS/master/%v/seg%d.ts" \
        -master_pl_name master.m3u8 \
        -var_stream_map "v:0,agroup:aud,name:hi v:1,agroup:aud,name:lo a:0,agroup:aud,name:audio,default:yes" \
        "$HLS/master/%v/index.m3u8" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a "${HLSOPT[@]}" -hls_playlist_type vod \
        -hls_key_info_file "$WORK/keyinfo" -hls_segment_filename "$HLS/aes/seg%d.ts" "$HLS/aes/index.m3u8" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a "${HLSOPT[@]}" -hls_playlist_type vod \
        -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
        -hls_segment_filename "$HLS/fmp4/seg%d.m4s" "$HLS/fmp4/index.m3u8" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a "${HLSOPT[@]}" -hls_list_size 0 \
        -hls_segment_filename "$HLS/live/seg%d.ts" "$HLS/live/index.m3u8"; } 2>"$WORK/ffmpeg-media.log"; then
    bail "HLS media generated with ffmpeg" "$(tail -n 20 "$WORK/ffmpeg-media.log")"
fi
# the media must be what the checks assume
grep -q 'TYPE=AUDIO.*URI="audio/index.m3u8"' "$HLS/master/master.m3u8" \
    && [ "$(grep -c '^#EXT-X-STREAM-INF' "$HLS/master/master.m3u8")" = 2 ] \
    || bail "master playlist with 2 variants and an audio rendition" "$(cat "$HLS/master/master.m3u8")"
grep -q '^#EXT-X-KEY:METHOD=AES-128,URI="enc.key"' "$HLS/aes/index.m3u8" \
    || bail "AES-128 playlist with a relative key URI" "$(head -n 8 "$HLS/aes/index.m3u8")"
grep -q '^#EXT-X-MAP:URI="init.mp4"' "$HLS/fmp4/index.m3u8" \
    || bail "fMP4 playlist with EXT-X-MAP" "$(head -n 8 "$HLS/fmp4/index.m3u8")"
note "media: $(find "$HLS" -type f | wc -l) files, $(du -sk "$HLS" | cut -f1) KiB in $(( $(date +%s) - t )) s"

# ---------------------------------------------------------------- 3. origin, catalog, relay

REPORTS=$WORK/reports
mkdir -p "$REPORTS"
start_origin --hls "$HLS" --hlsjs "$HLSJS" --report-dir "$REPORTS"
note "origin at $ORIGIN"

CATALOG=$WORK/catalog.m3u
cat >"$CATALOG" <<EOF
#EXTM3U
#EXTINF:-1 tvg-id="master.hls" group-title="Interop HLS",Master with alternate audio
$ORIGIN/hls/master/master.m3u8
#EXTINF:-1 tvg-id="aes.hls" group-title="Interop HLS",AES-128 (header-gated)
#EXTVLCOPT:http-user-agent=InteropAgent/1.0
$ORIGIN/hls/aes/index.m3u8
#EXTINF:-1 tvg-id="fmp4.hls" group-title="Interop HLS",fMP4 with EXT-X-MAP
$ORIGIN/hls/fmp4/index.m3u8
#EXTINF:-1 tvg-id="live.hls" group-title="Interop HLS",Live window
$ORIGIN/hls/live/index.m3u8
#EXTINF:-1 tvg-id="redirect.hls" group-title="Interop HLS",Master behind a redirect
$ORIGIN/redir/master.m3u8
EOF
# the origin path of each channel's playlist (the walker fetches it beside the relay's)
declare -A OPATH=([master]=/hls/master/master.m3u8 [aes]=/hls/aes/index.m3u8
    [fmp4]=/hls/fmp4/index.m3u8 [live]=/hls/live/index.m3u8 [redirect]=/redir/master.m3u8)
CHANNELS=(master aes fmp4 live redirect)

relay_binary
start_relay --catalog "$CATALOG" --state-dir "$WORK/state"
note "relay $RELAY_BIN at $RELAY (pid $RELAY_PID); work dir $WORK"

st=$(fetch "$RELAY/playlist.m3u8" playlist)
[ "$st" = 200 ] || bail "GET /playlist.m3u8" "status $st"
declare -A URL=()
while read -r tid u; do
    [ -n "$tid" ] && URL[${tid%.hls}]=$u
done < <($HELP map "$WORK/playlist.body" 2>/dev/null || true)
for ch in "${CHANNELS[@]}"; do
    [[ "${URL[$ch]:-}" == "$RELAY/stream/"*.m3u8 ]] \
        || bail "channel $ch listed as $RELAY/stream/ID.m3u8" "got '${URL[$ch]:-}'"
done

# ---------------------------------------------------------------- 4. playlists, bytes

check_walk() { # CHANNEL [--key FILE]
    local ch=$1 out
    shift
    out=$($HELP hls-walk "${URL[$ch]}" "$ORIGIN${OPATH[$ch]}" "$RELAY" "127.0.0.1:$OP" "$WORK/links-$ch" "$@" 2>&1) \
        || why "$out"
    note "$ch: $(head -n 1 <<<"$out")"
    no_reasons
}
WALKED="every playlist (master and variants) rewritten: no origin host:port, every URI $RELAY/r/TOKEN.EXT, other bytes unchanged; first segments identical to the origin's"
check "master: $WALKED; audio rendition playlist included" check_walk master
check "AES-128: $WALKED; the key through the relay equals the key file" check_walk aes --key "$HLS/aes/enc.key"
check "fMP4: $WALKED; the EXT-X-MAP init segment identical" check_walk fmp4
check "live window: $WALKED" check_walk live
check "master behind a 302: $WALKED (relative URIs resolved against the final URL)" check_walk redirect

# the relay's own upstream requests (the walker's carry its own User-Agent)
relay_requests() { grep -vF 'ua=interop-walker/1.0' "$WORK/origin.log" | grep -E '^origin: (GET|HEAD) ' || true; }
check_redirect_origin() {
    local r
    r=$(relay_requests)
    grep -qF 'GET /redir/master.m3u8 status=302' <<<"$r" || why "the relay never asked /redir/master.m3u8"
    grep -qF 'GET /hls/master/hi/index.m3u8?token=x status=200' <<<"$r" \
        || why "no relay request for the query-string variant /hls/master/hi/index.m3u8?token=x"
    grep -qF 'GET /alias/master/audio/index.m3u8 status=200' <<<"$r" \
        || why "no relay request for the cross-path absolute audio rendition /alias/master/audio/index.m3u8"
    grep -qF 'GET /alias/master/audio/seg0.ts status=200' <<<"$r" \
        || why "no relay request for /alias/master/audio/seg0.ts (relative to the absolute rendition URI)"
    local wrong
    wrong=$(grep -E 'GET /redir/[^m]' <<<"$r" | head -n 3)
    [ -z "$wrong" ] || why "URIs resolved against the pre-redirect URL: $wrong"
    no_reasons
}
check "redirect: the relay fetched the variant with its query string (?token=x) and the cross-path absolute rendition, nothing under the pre-redirect path" check_redirect_origin

check_headers_everywhere() {
    local r bad
    r=$(relay_requests | grep -E ' /hls/aes/')
    bad=$(grep -vF 'ua=InteropAgent/1.0' <<<"$r" | head -n 3)
    [ -z "$bad" ] || why "relay requests without the channel's User-Agent: $bad"
    grep -qE 'GET /hls/aes/index.m3u8 .*ua=InteropAgent/1.0' <<<"$r" || why "no playlist request with it"
    grep -qE 'GET /hls/aes/enc.key .*ua=InteropAgent/1.0' <<<"$r" || why "no key request with it"
    grep -qE 'GET /hls/aes/seg[0-9]+.ts .*ua=InteropAgent/1.0' <<<"$r" || why "no segment request with it"
    no_reasons
}
check "AES channel: #EXTVLCOPT http-user-agent sent on the playlist, key and segment requests" check_headers_everywhere

# --- HEAD and Range on playlists

check_pl_head_range() { # CHANNEL
    local url=${URL[$1]} n=pl-$1 hs gs rs len
    hs=$(curl -sS --max-time 20 -I -o /dev/null -D "$WORK/$n-head.h" -w '%{http_code}' "$url" 2>/dev/null || true)
    gs=$(fetch "$url" "$n-get")
    rs=$(fetch "$url" "$n-range" -H 'Range: bytes=0-')
    [ "$hs" = 200 ] && [ "$gs" = 200 ] || why "HEAD -> $hs, GET -> $gs"
    len=$(stat -c %s "$WORK/$n-get.body" 2>/dev/null || echo 0)
    [ "$(hdr "$WORK/$n-get.h" content-length)" = "$len" ] || why "GET Content-Length '$(hdr "$WORK/$n-get.h" content-length)', body $len B"
    [ "$(hdr "$WORK/$n-head.h" content-length)" = "$len" ] || why "HEAD Content-Length '$(hdr "$WORK/$n-head.h" content-length)', GET's body $len B"
    [ "$(hdr "$WORK/$n-head.h" content-type)" = "$(hdr "$WORK/$n-get.h" content-type)" ] || why "Content-Type HEAD '$(hdr "$WORK/$n-head.h" content-type)', GET '$(hdr "$WORK/$n-get.h" content-type)'"
    [ "$rs" = 206 ] || why "Range: bytes=0- -> $rs, want 206"
    [ "$(hdr "$WORK/$n-range.h" content-range)" = "bytes 0-$((len - 1))/$len" ] \
        || why "Range: bytes=0-: Content-Range '$(hdr "$WORK/$n-range.h" content-range)', want 'bytes 0-$((len - 1))/$len'"
    # tokens are sealed per request: compare with them masked
    [ "$($HELP hls-normalize "$WORK/$n-range.body")" = "$($HELP hls-normalize "$WORK/$n-get.body")" ] \
        || why "the 206 body is not the whole playlist ($(stat -c %s "$WORK/$n-range.body") B vs $len B)"
    no_reasons
}
check "master playlist: HEAD Content-Length = GET's; Range bytes=0- gives 206 with the whole body" check_pl_head_range master
check "AES media playlist: HEAD Content-Length = GET's; Range bytes=0- gives 206 with the whole body" check_pl_head_range aes

# --- Range and HEAD on segments

check_segment_range() { # CHANNEL FILE (the channel's first segment on disk)
    local seg size st n=seg-$1
    seg=$(awk '$1 == "segment" { print $2; exit }' "$WORK/links-$1" 2>/dev/null)
    [ -n "$seg" ] || { why "no relayed segment URL from the $1 walk"; return 1; }
    size=$(stat -c %s "$2")
    st=$(fetch "$seg" "$n-range" -r 100-1099)
    [ "$st" = 206 ] || why "Range bytes=100-1099 -> $st, want 206"
    [ "$(hdr "$WORK/$n-range.h" content-range)" = "bytes 100-1099/$size" ] \
        || why "Content-Range '$(hdr "$WORK/$n-range.h" content-range)', want 'bytes 100-1099/$size'"
    tail -c +101 "$2" | head -c 1000 >"$WORK/$n.want"
    cmp -s "$WORK/$n.want" "$WORK/$n-range.body" || why "the 206 body is not bytes 100-1099 of $(basename "$2")"
    st=$(fetch "$seg" "$n-suffix" -r -188)
    [ "$st" = 206 ] && [ "$(hdr "$WORK/$n-suffix.h" content-range)" = "bytes $((size - 188))-$((size - 1))/$size" ] \
        || why "Range bytes=-188 -> $st '$(hdr "$WORK/$n-suffix.h" content-range)', want 206 'bytes $((size - 188))-$((size - 1))/$size'"
    st=$(fetch "$seg" "$n-416" -r "$size-")
    [ "$st" = 416 ] || why "Range bytes=$size- (at the end) -> $st, want 416"
    local hs
    hs=$(curl -sS --max-time 20 -I -o /dev/null -D "$WORK/$n-head.h" -w '%{http_code}' "$seg" 2>/dev/null || true)
    [ "$hs" = 200 ] || why "HEAD -> $hs"
    [ "$(hdr "$WORK/$n-head.h" content-length)" = "$size" ] || why "HEAD Content-Length '$(hdr "$WORK/$n-head.h" content-length)', want $size"
    [ "$(hdr "$WORK/$n-head.h" content-type)" = "$3" ] || why "HEAD Content-Type '$(hdr "$WORK/$n-head.h" content-type)', want $3"
    no_reasons
}
check "AES-128 segment: Range 100-1099 and -188 give 206 with the exact bytes, past the end 416; HEAD gives its length and video/mp2t" \
    check_segment_range aes "$HLS/aes/seg0.ts" video/mp2t
check "fMP4 segment: Range 100-1099 and -188 exact, past the end 416; HEAD gives its length and an MP4 type" \
    check_segment_range fmp4 "$HLS/fmp4/seg0.m4s" video/iso.segment

# --- security: nothing fetched that a client named

check_no_open_proxy() {
    local probe=/interop-probe-$$-$RANDOM.ts st u b64
    local since
    since=$(lines "$WORK/origin.log")
    b64=$($HELP b64url "$ORIGIN$probe")
    for u in "$RELAY/r/$b64.ts" "$RELAY/r/$b64" "$RELAY/r/$ORIGIN$probe" "$RELAY/r/${ORIGIN#http://}$probe" \
        "$RELAY/r/$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$ORIGIN$probe").ts"; do
        st=$(curl -sS --max-time 20 --path-as-is -o "$WORK/probe.body" -w '%{http_code}' "$u" 2>/dev/null || true)
        [ "$st" = 404 ] || why "GET $u -> $st, want 404: $(head -c 200 "$WORK/probe.body")"
    done
    sleep 0.5
    local seen
    seen=$(origin_lines "$probe" "$since")
    [ -z "$seen" ] || why "the origin was asked for the probe: $seen"
    no_reasons
}
check "/r/<base64url of an origin URL>.ts and /r/<origin URL> give 404; the origin never sees the path" check_no_open_proxy

check_tampered() {
    local seg st t
    seg=$(awk '$1 == "segment" { print $2; exit }' "$WORK/links-aes" 2>/dev/null)
    [ -n "$seg" ] || { why "no relayed segment URL from the AES walk"; return 1; }
    st=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' "$seg" 2>/dev/null || true)
    [ "$st" = 200 ] || why "(control) the untouched segment URL -> $st"
    t=$($HELP tamper "$seg")
    st=$(curl -sS --max-time 20 -o "$WORK/tamper.body" -w '%{http_code}' "$t" 2>/dev/null || true)
    [ "$st" = 404 ] || why "tampered $t -> $st, want 404"
    no_reasons
}
check "a tampered token (one character changed) gives 404" check_tampered

# ---------------------------------------------------------------- 5. ffprobe, ffmpeg

check_ffprobe() { # CHANNEL MIN_VIDEO_STREAMS
    local out rc nv
    out=$(timeout -k 5 60 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name \
        -of csv=p=0 "${URL[$1]}" 2>"$WORK/ffprobe-$1.err")
    rc=$?
    [ $rc = 0 ] || why "ffprobe exit $rc: $(tail -n 5 "$WORK/ffprobe-$1.err")"
    nv=$(grep -c '^h264,video' <<<"$out")
    [ "$nv" -ge "$2" ] || why "$nv h264 video streams, want $2: $(echo $out)"
    grep -q '^aac,audio' <<<"$out" || why "no aac audio stream: $(echo $out)"
    no_reasons
}
check "ffprobe on the master: both h264 variants and the aac audio rendition" check_ffprobe master 2
check "ffprobe on the AES-128 channel: h264 + aac (decrypted)" check_ffprobe aes 1
check "ffprobe on the fMP4 channel: h264 + aac" check_ffprobe fmp4 1
check "ffprobe on the live channel: h264 + aac" check_ffprobe live 1
check "ffprobe on the redirected master: both variants and the audio rendition" check_ffprobe redirect 2

check_decode() { # CHANNEL MIN_SECONDS [OUTPUT_OPTIONS...]
    local ch=$1 min=$2 prog=$WORK/decode-$1.progress rc
    shift 2
    timeout -k 5 90 ffmpeg -nostdin -hide_banner -v error -xerror -progress "$prog" -i "${URL[$ch]}" \
        -map 0:v:0 -map 0:a:0 "$@" -f null - >/dev/null 2>"$WORK/decode-$ch.err"
    rc=$?
    [ $rc = 0 ] || why "ffmpeg exit $rc"
    [ -s "$WORK/decode-$ch.err" ] && why "ffmpeg errors: $(head -n 5 "$WORK/decode-$ch.err")"
    local us
    us=$(grep '^out_time_us=' "$prog" 2>/dev/null | tail -n 1 | cut -d= -f2)
    awk -v u="${us:-0}" -v m="$min" 'BEGIN { exit !(u >= m * 1000000) }' \
        || why "decoded only ${us:-0} us of media, want >= $min s"
    no_reasons
}
check "ffmpeg -xerror decodes the whole master (video variant + audio rendition, 16 s)" check_decode master 15.9
check "ffmpeg -xerror decodes the whole AES-128 channel" check_decode aes 15.9
check "ffmpeg -xerror decodes the whole fMP4 channel" check_decode fmp4 15.9
check "ffmpeg -xerror decodes 10 s of the live window (playlist reloads, sequence advancing)" check_decode live 9.9 -t 10
check "ffmpeg -xerror decodes the whole redirected master" check_decode redirect 15.9

# Three viewers of the live window at once: the relay fetches each segment once (one fetch
# shared by concurrent requests, then kept for server::hls::OBJECT_TTL, longer than a segment
# stays in the window).
check_live_shared() {
    local osince rsince i pids=() rc
    osince=$(lines "$WORK/origin.log")
    rsince=$(lines "$WORK/relay.log")
    for i in 1 2 3; do
        timeout -k 5 60 ffmpeg -nostdin -hide_banner -v error -xerror -i "${URL[live]}" \
            -map 0:v:0 -map 0:a:0 -t 6 -f null - >/dev/null 2>"$WORK/shared-$i.err" &
        pids+=($!)
    done
    for i in 1 2 3; do
        wait "${pids[$((i - 1))]}"
        rc=$?
        [ $rc = 0 ] || why "viewer $i: ffmpeg exit $rc: $(head -n 3 "$WORK/shared-$i.err")"
    done
    local fetched served dup
    fetched=$(tail -n +"$((osince + 1))" "$WORK/origin.log" | grep -vF 'ua=interop-walker/1.0' \
        | grep -oE 'GET /hls/live/s[0-9]+\.ts' | sort | uniq -c)
    dup=$(awk '$1 > 1 { print $3 " x" $1 }' <<<"$fetched" | paste -sd' ')
    [ -z "$dup" ] || why "segments the relay fetched more than once: $dup"
    served=$(tail -n +"$((rsince + 1))" "$WORK/relay.log" | grep -cE 'GET /r/[A-Za-z0-9_-]+\.ts -> 20[06]')
    local n
    n=$(grep -c . <<<"$fetched")
    [ "$served" -ge $((2 * n + 1)) ] || why "the relay served $served segment requests for $n segments fetched: were the viewers concurrent?"
    note "3 live viewers: $served segment requests served from $n origin fetches"
    no_reasons
}
check "three concurrent ffmpeg viewers of the live window: each segment fetched from the origin once" check_live_shared

# ---------------------------------------------------------------- 6. mpv, VLC

check_mpv() { # CHANNEL SECONDS
    local log=$WORK/mpv-$1.log
    mpv_play "${URL[$1]}" "$2" "$log" 60
    grep -q 'AO: \[null\]' "$log" || why "audio output never configured (no audio decoded)"
    no_reasons
}
check "mpv plays the master (3 s, h264 + aac from the rendition, position advances)" check_mpv master 3
check "mpv plays the AES-128 channel (3 s)" check_mpv aes 3
check "mpv plays the fMP4 channel (3 s)" check_mpv fmp4 3
check "mpv plays the live window (3 s)" check_mpv live 3

# relay_served SINCE EXT: the relay's log has a 200 for a /r/ resource ending in .EXT after line SINCE
relay_served() { tail -n +"$(($1 + 1))" "$WORK/relay.log" | grep -qE "GET /r/[A-Za-z0-9_-]+\.$2 -> 20[06]"; }
check_vlc() { # CHANNEL SECONDS SEGMENT_EXT
    local log=$WORK/vlc-$1.log since
    since=$(lines "$WORK/relay.log")
    vlc_play "${URL[$1]}" "$2" "$log" 60
    grep -qE 'adaptive demux|using demux module "adaptive"' "$log" || why "VLC's HLS (adaptive) demuxer not used"
    relay_served "$since" "$3" || why "the relay's log shows no .$3 segment served during the run"
    no_reasons
}
check "cvlc plays the master (3 s, h264 + audio decoders, segments through the relay)" check_vlc master 3 ts
check "cvlc plays the AES-128 channel (3 s, key through the relay)" check_vlc aes 3 ts
check "cvlc plays the fMP4 channel (3 s)" check_vlc fmp4 3 m4s
check "cvlc plays the live window (3 s)" check_vlc live 3 ts

# ---------------------------------------------------------------- 7. streamlink

check_streamlink() { # CHANNEL MIN_SECONDS [streamlink options...]
    local ch=$1 min=$2 out=$WORK/streamlink-$1.ts rc
    shift 2
    [ -n "$STREAMLINK" ] || { why "streamlink not installed (see above)"; return 1; }
    rm -f "$out"
    timeout -k 5 60 "$STREAMLINK" --no-config --loglevel info -o "$out" "$@" "hls://${URL[$ch]}" best \
        >"$WORK/streamlink-$ch.log" 2>&1
    rc=$?
    [ $rc = 0 ] || why "streamlink exit $rc: $(tail -n 5 "$WORK/streamlink-$ch.log")"
    local probe
    probe=$(timeout -k 5 30 ffprobe -hide_banner -v error \
        -show_entries stream=codec_type,codec_name:format=duration -of csv=p=0 "$out" 2>&1)
    grep -q '^h264,video' <<<"$probe" || why "no h264 video in streamlink's output: $(echo $probe)"
    grep -q '^aac,audio' <<<"$probe" || why "no aac audio in streamlink's output: $(echo $probe)"
    awk -v m="$min" '/^[0-9.]+$/ { d = $1 } END { exit !(d + 0 >= m) }' <<<"$probe" \
        || why "streamlink's output lasts $(grep -E '^[0-9.]+$' <<<"$probe" || echo '?') s, want >= $min s"
    note "streamlink $ch: $(stat -c %s "$out" 2>/dev/null || echo 0) B; $(echo $probe)"
    no_reasons
}
check "streamlink saves the master's best variant with the alternate audio (ffprobe: h264 + aac, 16 s)" check_streamlink master 15.5
check "streamlink saves 6 s of the live window (--hls-duration 6; ffprobe: h264 + aac, >= 5.5 s)" check_streamlink live 5.5 --hls-duration 6

# ---------------------------------------------------------------- 8. hls.js in Chromium

# The page is served by the origin and plays from the relay: another origin, so CORS is needed.
check_hlsjs() { # CHANNEL [report expectations...]
    local ch=$1 id=$1-$RANDOM prof pid src _
    shift
    [ -f "$HLSJS/hls.min.js" ] || { why "hls.js not installed (see above)"; return 1; }
    prof=$(mktemp -d "$WORK/chromium.XXXXXX")
    src=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "${URL[$ch]}")
    timeout -k 5 60 chromium --headless --no-sandbox --disable-gpu \
        --autoplay-policy=no-user-gesture-required --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-quic \
        --disable-dev-shm-usage --user-data-dir="$prof" \
        "$ORIGIN/player.html?id=$id&src=$src" >"$WORK/chromium-$ch.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 450); do
        [ -s "$REPORTS/$id.json" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$prof"
    if [ ! -s "$REPORTS/$id.json" ]; then
        why "no report from the page within 45 s: $(grep -vE '^\s*$' "$WORK/chromium-$ch.log" | tail -n 5)"
        return 1
    fi
    local out
    out=$($HELP report "$REPORTS/$id.json" "$@" 2>&1) || why "$out"
    note "$ch: $(head -n 1 <<<"$out")"
    no_reasons
}
check "hls.js (headless Chromium, page on another origin) plays 3 s of the master with the audio rendition" check_hlsjs master audio-tracks=1
check "hls.js plays 3 s of the AES-128 channel (decrypts with the relayed key)" check_hlsjs aes
check "hls.js plays 3 s of the fMP4 channel" check_hlsjs fmp4
check "hls.js plays 3 s of the live window" check_hlsjs live

check_relay_log() {
    local w
    w=$(grep -E '^(WARN|ERROR)' "$WORK/relay.log" | head -n 5)
    [ -z "$w" ] || why "$w"
    no_reasons
}
check "the relay logged no warning or error during all of the above" check_relay_log

note "checks done in $(( $(date +%s) - T0 )) s (total, including installs)"
summary
[ "$FAILED" -eq 0 ]
