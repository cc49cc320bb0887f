#!/usr/bin/env bash
# Interop tier: real players and tools (ffprobe, ffmpeg, mpv, VLC, curl) against the relay,
# with a local origin (tests/interop/origin.py) and media generated here with ffmpeg.
#
#   bash tests/interop/run.sh
#
# Environment:
#   RELAY_BIN              relay-server binary to test (default: `cargo build --release -p
#                          relay-server` in the repository root, then the binary cargo reports)
#   RELAY_BUILD_PROFILE    cargo profile for that build: release (default) or dev
#   INTEROP_NO_INSTALL=1   never run apt-get (fail instead when a tool is missing)
#   INTEROP_KEEP=1         keep the work directory (logs, media) even when everything passed
#
# Output: one `ok - ...` / `not ok - ...` line per check (reasons on `#` lines below a failure),
# then `N passed, M failed`; the exit status is non-zero when any check failed.
# Needs root (or all tools already installed): installs ffmpeg, mpv, vlc-bin, vlc-plugin-base and
# curl with apt-get when missing. VLC refuses to run as root, so as root it runs as `nobody`.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

# ---------------------------------------------------------------- 1. tools

install_tools() {
    local pkgs=()
    { command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || pkgs+=(ffmpeg)
    command -v mpv >/dev/null 2>&1 || pkgs+=(mpv)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    # cvlc comes with vlc-bin; the http access, ts/mp4 demuxers, avcodec/faad decoders and the
    # dummy interface/outputs come with vlc-plugin-base.
    command -v cvlc >/dev/null 2>&1 || pkgs+=(vlc-bin)
    pkg_installed vlc-plugin-base || pkgs+=(vlc-plugin-base)
    if [ ${#pkgs[@]} -eq 0 ]; then
        note "tools: all present (ffmpeg, ffprobe, mpv, cvlc, curl); nothing to install"
        return 0
    fi
    apt_install "${pkgs[@]}"
}
install_tools
for tool in ffmpeg ffprobe mpv cvlc curl python3 timeout sha256sum; do
    command -v "$tool" >/dev/null 2>&1 || bail "tool $tool available" "not on PATH after install"
done

if [ "$(id -u)" = 0 ]; then note "VLC runs as nobody (runuser -u nobody -- cvlc ...), VLC refuses root"; fi

# ---------------------------------------------------------------- 2. media

MEDIA=$WORK/media
mkdir -p "$MEDIA"
t=$(date +%s)
if ! ffmpeg -nostdin -hide_banner -v error -y \
    -f lavfi -i "testsrc2=size=320x240:rate=25" \
    -f lavfi -i "sine=frequency=440:sample_rate=48000" \
    -t 20 -map 0:v -map 1:a \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 -keyint_min 25 -sc_threshold 0 \
    -c:a aac -b:a 64k -ac 2 \
    -f mpegts -mpegts_flags +resend_headers -muxrate 0 "$MEDIA/live.ts" 2>"$WORK/ffmpeg-media.log" \
    || ! ffmpeg -nostdin -hide_banner -v error -y -i "$MEDIA/live.ts" -map 0 -c copy \
        -movflags +faststart "$MEDIA/movie.mp4" 2>>"$WORK/ffmpeg-media.log" \
    || ! ffmpeg -nostdin -hide_banner -v error -y -i "$MEDIA/live.ts" -map 0 -c copy \
        "$MEDIA/movie-moov-at-end.mp4" 2>>"$WORK/ffmpeg-media.log"; then
    bail "media generated with ffmpeg" "$(tail -n 20 "$WORK/ffmpeg-media.log")"
fi
# The two MP4s must really differ in where moov is, or the moov-at-end checks prove nothing.
if ! layout=$(python3 - "$MEDIA/movie.mp4" "$MEDIA/movie-moov-at-end.mp4" <<'EOF'
import struct, sys
def atoms(p):
    d = open(p, "rb").read(); i = 0; out = []
    while i + 8 <= len(d):
        size, kind = struct.unpack(">I4s", d[i:i + 8])
        if size == 1:
            size = struct.unpack(">Q", d[i + 8:i + 16])[0]
        if size < 8:
            break
        out.append(kind.decode("latin-1")); i += size
    return out
fast, late = atoms(sys.argv[1]), atoms(sys.argv[2])
print(" ".join(fast), "|", " ".join(late))
ok = fast.index("moov") < fast.index("mdat") and late.index("moov") > late.index("mdat")
sys.exit(0 if ok else 1)
EOF
); then
    bail "MP4 layouts (faststart and moov-at-end)" "top-level atoms: $layout"
fi
TS_SIZE=$(stat -c %s "$MEDIA/live.ts")
MP4_SIZE=$(stat -c %s "$MEDIA/movie.mp4")
MOOVEND_SIZE=$(stat -c %s "$MEDIA/movie-moov-at-end.mp4")
[ $((TS_SIZE % 188)) -eq 0 ] || bail "TS is 188-byte aligned" "size $TS_SIZE"
note "media: live.ts $TS_SIZE B, movie.mp4 $MP4_SIZE B, movie-moov-at-end.mp4 $MOOVEND_SIZE B ($layout) in $(( $(date +%s) - t )) s"

# ---------------------------------------------------------------- 3. origin

start_origin --media "$MEDIA"
CLOSED_PORT=$($HELP free-port)
AVOID_PORT=$CLOSED_PORT
note "origin at $ORIGIN; closed port $CLOSED_PORT"

# ---------------------------------------------------------------- 4. catalog

LIVE_Q="loops=1&speed=40" # short, fast live streams for the header-gated channels
CATALOG=$WORK/catalog.m3u
cat >"$CATALOG" <<EOF
#EXTM3U x-tvg-url="http://epg.example/guide.xml"
#EXTINF:-1 tvg-id="missing.interop" tvg-chno="901" group-title="Interop Broken",Missing file
$ORIGIN/missing.ts
#EXTINF:-1 tvg-id="closed.interop" tvg-chno="902" group-title="Interop Broken",Closed port
http://127.0.0.1:$CLOSED_PORT/closed.ts
#EXTINF:-1 tvg-id="stall.interop" tvg-chno="903" group-title="Interop Broken",Stalled head
$ORIGIN/stall.ts?sleep=15
#EXTINF:-1 tvg-id="stallbody.interop" tvg-chno="904" group-title="Interop Broken",Stalled body
$ORIGIN/stall-body.ts?sleep=15
#EXTINF:-1 tvg-id="truncated.interop" tvg-chno="905" group-title="Interop Broken",Truncated movie
$ORIGIN/truncated.mp4
#EXTINF:-1 tvg-id="gated.interop" tvg-name="Gated" tvg-logo="http://logo.example/gated.png" tvg-chno="201" group-title="Interop Live",Gated TS (EXTVLCOPT)
#EXTVLCOPT:http-user-agent=InteropAgent/1.0
#EXTVLCOPT:http-referrer=http://referer.example/
$ORIGIN/gated.ts?$LIVE_Q
#EXTINF:-1 tvg-id="gatedpipe.interop" tvg-chno="202" group-title="Interop Live",Gated TS (pipe headers)
$ORIGIN/gated.ts?$LIVE_Q|User-Agent=InteropAgent/1.0&Referer=http://referer.example/
#EXTINF:-1 tvg-id="cookie.interop" tvg-chno="203" group-title="Interop Live",Cookie TS (EXTHTTP)
#EXTHTTP:{"Cookie":"session=interop"}
$ORIGIN/cookie.ts?$LIVE_Q
#EXTINF:-1 tvg-id="redirect.interop" tvg-logo="http://logo.example/redirect.png" tvg-chno="301" group-title="Interop Movies",Movie via redirect
$ORIGIN/redirect/movie.mp4
#EXTINF:-1 tvg-id="movie.interop" tvg-name="Movie" tvg-logo="http://logo.example/movie.png" tvg-chno="302" group-title="Interop Movies",Movie (faststart)
$ORIGIN/movie.mp4
#EXTINF:-1 tvg-id="moovend.interop" tvg-chno="303" group-title="Interop Movies",Movie (moov at end)
$ORIGIN/movie-moov-at-end.mp4
#EXTINF:-1 tvg-id="live.interop" tvg-name="Live" tvg-logo="http://logo.example/live.png" tvg-chno="101" group-title="Interop Live",Live TS
$ORIGIN/live.ts
EOF
N_CHANNELS=$(grep -c '^#EXTINF' "$CATALOG")
MOOVEND_INDEX=10 # 0-based position of moovend.interop (the live channel follows it)

# ---------------------------------------------------------------- 5. relay

relay_binary
# A short linger: checks that need the live channel from its start wait for it to close (unshared).
start_relay --catalog "$CATALOG" --upstream-response-timeout 2s --upstream-idle-timeout 2s \
    --share-linger 1s
note "relay $RELAY_BIN at $RELAY (pid $RELAY_PID); work dir $WORK"

# ---------------------------------------------------------------- helpers for checks

# relay_streamed ID SINCE MIN: the relay logged "stream ID (...) ...: N bytes" with N >= MIN after
# line SINCE of its log (waits up to 5 s: the line is written when the client has gone).
relay_streamed() {
    local id=$1 since=$2 min=$3 _
    for _ in $(seq 50); do
        if tail -n +"$((since + 1))" "$WORK/relay.log" | grep -E "stream $id \(" \
            | sed -nE 's/.*: ([0-9]+) bytes in .*/\1/p' | awk -v m="$min" '$1 >= m { f = 1 } END { exit !f }'; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}
# Waits (up to 15 s) until no shared upstream is open: the test origin's live body is finite, so a
# check that needs a channel from its start must not join the lingering upstream of an earlier one.
unshared() {
    local _
    for _ in $(seq 150); do
        curl -fsS --max-time 2 "$RELAY/health" 2>/dev/null | grep -q '"shared_upstreams":0' && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- 6. checks

check_health() {
    $HELP check-json-health "$WORK/health.json" "$N_CHANNELS" >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "GET /health answers JSON with status ok and $N_CHANNELS channels" check_health

PL=$WORK/playlist.m3u8
pl_status=$(fetch "$RELAY/playlist.m3u8" playlist)
cp "$WORK/playlist.body" "$PL" 2>/dev/null || : >"$PL"

check_pl_attrs() {
    [ "$pl_status" = 200 ] || why "GET /playlist.m3u8 -> $pl_status"
    local ct
    ct=$(hdr "$WORK/playlist.h" content-type)
    [[ "$ct" == *mpegurl* ]] || why "Content-Type $ct, want an M3U type (audio/x-mpegurl)"
    $HELP check-attrs "$CATALOG" "$PL" >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "playlist lists all $N_CHANNELS channels with names and attributes kept (tvg-id, tvg-name, tvg-logo, tvg-chno, group-title, x-tvg-url)" check_pl_attrs

check_pl_urls() {
    $HELP check-urls "$CATALOG" "$PL" "$RELAY" >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "playlist URLs are $RELAY/stream/ID.ts for TS channels, .mp4 for file channels" check_pl_urls

check_pl_leaks() {
    $HELP check-leaks "$PL" "127.0.0.1:$OP" "127.0.0.1:$CLOSED_PORT" InteropAgent referer.example \
        session=interop >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "playlist leaks no origin host:port and no request options (headers are applied by the relay)" check_pl_leaks

check_pl_m3u() {
    local st
    st=$(fetch "$RELAY/playlist.m3u" playlist2)
    [ "$st" = 200 ] || why "GET /playlist.m3u -> $st"
    cmp -s "$WORK/playlist2.body" "$PL" || why "/playlist.m3u differs from /playlist.m3u8"
    no_reasons
}
check "/playlist.m3u serves the same playlist" check_pl_m3u

# tvg-id -> relay URL, from the relay's own playlist: every stream check below plays what a
# player picking that entry of the playlist would play.
declare -A URL=()
while read -r tid u; do
    [ -n "$tid" ] && URL[$tid]=$u
done < <($HELP map "$PL" 2>/dev/null || true)
for tid in missing closed stall stallbody truncated gated gatedpipe cookie redirect movie moovend live; do
    if [ -z "${URL[$tid.interop]:-}" ]; then
        # keep going with a URL that can only fail, so every dependent check reports
        URL[$tid.interop]="$RELAY/stream/absent-from-playlist-$tid"
    fi
done
id_of() { local u=${URL[$1.interop]}; u=${u##*/}; printf '%s' "${u%%.*}"; }

check_api() {
    local st
    st=$(fetch "$RELAY/api/channels" api)
    [ "$st" = 200 ] || why "GET /api/channels -> $st"
    [[ "$(hdr "$WORK/api.h" content-type)" == application/json* ]] || why "Content-Type $(hdr "$WORK/api.h" content-type)"
    $HELP check-api "$WORK/api.body" "$PL" "$CATALOG" >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "GET /api/channels lists every channel (id, name, group, tvg_id, logo, chno, kind, url) matching the playlist" check_api

check_api_filter() { # QUERY TVG_IDS...
    local q=$1 st
    shift
    st=$(fetch "$RELAY/api/channels?$q" apif)
    [ "$st" = 200 ] || why "GET /api/channels?$q -> $st"
    $HELP check-api-filter "$WORK/apif.body" "$@" >"$WORK/c.out" 2>&1 || why "$(cat "$WORK/c.out")"
    no_reasons
}
check "/api/channels?group=Interop%20Movies filters by group" \
    check_api_filter "group=Interop%20Movies" redirect.interop movie.interop moovend.interop
check "/api/channels?q=GATED searches names case-insensitively" \
    check_api_filter "q=GATED" gated.interop gatedpipe.interop
check "/api/channels?q=movie&group=interop+movies combines both filters" \
    check_api_filter "q=movie&group=interop+movies" redirect.interop movie.interop moovend.interop

# --- byte identity

check_file_identity() { # TVG FILE
    local st
    st=$(fetch "${URL[$1.interop]}" "id-$1")
    [ "$st" = 200 ] || why "GET ${URL[$1.interop]} -> $st $(head -c 200 "$WORK/id-$1.body" 2>/dev/null)"
    local want got
    want=$(sha "$2")
    got=$(sha "$WORK/id-$1.body")
    [ "$want" = "$got" ] || why "sha256 $got ($(stat -c %s "$WORK/id-$1.body") B) != origin file $want ($(stat -c %s "$2") B)"
    [ "$(hdr "$WORK/id-$1.h" content-length)" = "$(stat -c %s "$2")" ] \
        || why "Content-Length $(hdr "$WORK/id-$1.h" content-length), want $(stat -c %s "$2")"
    [ "$(hdr "$WORK/id-$1.h" content-type)" = video/mp4 ] || why "Content-Type $(hdr "$WORK/id-$1.h" content-type)"
    [ "$(hdr "$WORK/id-$1.h" accept-ranges)" = bytes ] || why "no Accept-Ranges: bytes"
    no_reasons
}
check "movie.mp4 through the relay is byte-identical (sha256, Content-Length, Content-Type, Accept-Ranges)" \
    check_file_identity movie "$MEDIA/movie.mp4"
check "movie-moov-at-end.mp4 through the relay is byte-identical" \
    check_file_identity moovend "$MEDIA/movie-moov-at-end.mp4"
check "the redirecting channel (302 -> /movie.mp4) is followed and byte-identical" \
    check_file_identity redirect "$MEDIA/movie.mp4"

# The live channel: the origin directly and three relay clients at once, all the same request.
LIVE_BYTES=$((TS_SIZE * 2))
curl -sS --max-time 60 -o "$WORK/live-origin.body" "$ORIGIN/live.ts" 2>"$WORK/live-origin.err" &
p0=$!
live_pids=()
for i in 1 2 3; do
    curl -sS --max-time 60 -o "$WORK/live-$i.body" -D "$WORK/live-$i.h" \
        -w '%{http_code} %{time_starttransfer} %{time_total}' "${URL[live.interop]}" \
        >"$WORK/live-$i.w" 2>"$WORK/live-$i.err" &
    live_pids+=($!)
done
$HELP timing "${URL[live.interop]}" "$WORK/live-4.body" >"$WORK/live-4.w" 2>"$WORK/live-4.err" &
live_pids+=($!)
# the header-gated channels, each with the origin's answer to a request carrying the headers
curl -sS --max-time 60 -o "$WORK/gated-origin.body" -A InteropAgent/1.0 -e http://referer.example/ \
    "$ORIGIN/gated.ts?$LIVE_Q" 2>/dev/null &
p1=$!
curl -sS --max-time 60 -o "$WORK/cookie-origin.body" -b session=interop "$ORIGIN/cookie.ts?$LIVE_Q" 2>/dev/null &
p2=$!
wait "$p0" "$p1" "$p2" "${live_pids[@]}" 2>/dev/null || true

# BODY is a non-empty, packet-aligned suffix of ORIGIN (a viewer joining a shared channel late
# starts at a random-access point; one joining in its first group of pictures gets all of it).
is_ts_suffix() { # BODY ORIGIN
    local n
    n=$(stat -c %s "$1")
    [ "$n" -gt 0 ] && [ $((n % 188)) = 0 ] && cmp -s "$1" <(tail -c "$n" "$2")
}

check_live_identity() {
    local want got i full=0
    want=$(sha "$WORK/live-origin.body")
    [ "$(stat -c %s "$WORK/live-origin.body")" = "$LIVE_BYTES" ] \
        || why "origin sent $(stat -c %s "$WORK/live-origin.body") B, expected $LIVE_BYTES (test origin broken?)"
    for i in 1 2 3; do
        read -r st ttfb total <"$WORK/live-$i.w" || true
        [ "${st:-}" = 200 ] || why "client $i: status ${st:-none} $(cat "$WORK/live-$i.err")"
        got=$(sha "$WORK/live-$i.body")
        if [ "$got" = "$want" ]; then
            full=$((full + 1))
        else
            is_ts_suffix "$WORK/live-$i.body" "$WORK/live-origin.body" \
                || why "client $i: $(stat -c %s "$WORK/live-$i.body") B, not the origin's bytes nor a packet-aligned end of them"
        fi
    done
    [ "$full" -ge 1 ] || why "no client got all $LIVE_BYTES B (the first viewer of a shared channel gets the stream from its start)"
    no_reasons
}
check "live TS through the relay (one shared upstream): 3 concurrent curl clients get the origin's bytes ($LIVE_BYTES B), or its end from a random-access point" check_live_identity

check_live_progressive() {
    local st ttfb total n
    read -r st ttfb total n <"$WORK/live-4.w" || true
    [ "${st:-}" = 200 ] || why "status ${st:-none} $(cat "$WORK/live-4.err")"
    is_ts_suffix "$WORK/live-4.body" "$WORK/live-origin.body" \
        || why "${n:-0} B received: not the origin's $LIVE_BYTES B nor a packet-aligned end of them"
    # Relational, not a speed limit: the origin paces its body over ~5 s, so a relay that streams
    # delivers the first byte long before the last; one that buffers delivers them together.
    awk -v a="${ttfb:--1}" -v b="${total:-0}" 'BEGIN { exit !(a >= 0 && b - a > 2) }' \
        || why "first body byte after ${ttfb:-?} s, last after ${total:-?} s (the origin paces ~5 s): not relayed as it arrives"
    no_reasons
}
check "live TS is relayed as it arrives (a 4th concurrent client gets the first body byte seconds before the last; the origin paces ~5 s)" check_live_progressive

check_live_headers() {
    local h=$WORK/live-1.h
    [ "$(hdr "$h" content-type)" = video/mp2t ] || why "Content-Type $(hdr "$h" content-type)"
    has_hdr "$h" content-length && why "Content-Length $(hdr "$h" content-length) on a live stream"
    has_hdr "$h" transfer-encoding && [ "$(hdr "$h" transfer-encoding)" != chunked ] && why "Transfer-Encoding $(hdr "$h" transfer-encoding)"
    no_reasons
}
check "live TS answer: Content-Type video/mp2t, no Content-Length" check_live_headers

check_gated() { # TVG ORIGIN_BODY
    local st want got
    st=$(fetch "${URL[$1.interop]}" "gate-$1")
    [ "$st" = 200 ] || why "GET ${URL[$1.interop]} -> $st: $(head -c 300 "$WORK/gate-$1.body" 2>/dev/null)"
    want=$(sha "$2")
    got=$(sha "$WORK/gate-$1.body")
    [ "$(stat -c %s "$2")" = "$TS_SIZE" ] || why "origin with headers sent $(stat -c %s "$2") B (test origin broken?)"
    [ "$got" = "$want" ] || why "$(stat -c %s "$WORK/gate-$1.body") B sha256 $got != origin's $want"
    no_reasons
}
check "#EXTVLCOPT http-user-agent/http-referrer are sent upstream (gated channel plays, bytes identical)" \
    check_gated gated "$WORK/gated-origin.body"
check "url|User-Agent=...&Referer=... suffix headers are sent upstream" \
    check_gated gatedpipe "$WORK/gated-origin.body"
check "#EXTHTTP {\"Cookie\":...} is sent upstream" check_gated cookie "$WORK/cookie-origin.body"

check_origin_gate() {
    local st
    st=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' "$ORIGIN/gated.ts?$LIVE_Q" 2>/dev/null || true)
    [ "$st" = 403 ] || why "origin /gated.ts without headers -> $st, want 403"
    st=$(curl -sS --max-time 20 -o /dev/null -w '%{http_code}' "$ORIGIN/cookie.ts?$LIVE_Q" 2>/dev/null || true)
    [ "$st" = 403 ] || why "origin /cookie.ts without cookie -> $st, want 403"
    no_reasons
}
check "(control) the origin really rejects gated requests without the headers" check_origin_gate

# --- ranges

check_range() { # TVG FILE CURL_RANGE FIRST LAST
    local tvg=$1 file=$2 r=$3 first=$4 last=$5 size st name
    size=$(stat -c %s "$file")
    name="rg-$tvg-${r//[^0-9a-z]/_}"
    st=$(fetch "${URL[$tvg.interop]}" "$name" -r "$r")
    [ "$st" = 206 ] || why "Range bytes=$r -> $st, want 206"
    local cr cl
    cr=$(hdr "$WORK/$name.h" content-range)
    cl=$(hdr "$WORK/$name.h" content-length)
    [ "$cr" = "bytes $first-$last/$size" ] || why "Range bytes=$r: Content-Range '$cr', want 'bytes $first-$last/$size'"
    [ "$cl" = "$((last - first + 1))" ] || why "Range bytes=$r: Content-Length '$cl', want $((last - first + 1))"
    tail -c +"$((first + 1))" "$file" | head -c "$((last - first + 1))" >"$WORK/$name.want"
    cmp -s "$WORK/$name.want" "$WORK/$name.body" \
        || why "Range bytes=$r: body ($(stat -c %s "$WORK/$name.body") B) differs from bytes $first-$last of the file"
    no_reasons
}
check_416() { # TVG FILE CURL_RANGE
    local size st name cr
    size=$(stat -c %s "$2")
    name="rg416-$1"
    st=$(fetch "${URL[$1.interop]}" "$name" -r "$3")
    [ "$st" = 416 ] || why "Range bytes=$3 (size $size) -> $st, want 416"
    cr=$(hdr "$WORK/$name.h" content-range)
    [ "$cr" = "bytes */$size" ] || why "Content-Range '$cr', want 'bytes */$size'"
    no_reasons
}
S=$MP4_SIZE
check "Range 0-99 on movie.mp4: 206, exact Content-Range/Content-Length, right bytes" check_range movie "$MEDIA/movie.mp4" 0-99 0 99
check "Range 1000- on movie.mp4" check_range movie "$MEDIA/movie.mp4" 1000- 1000 $((S - 1))
check "Range -500 (suffix) on movie.mp4" check_range movie "$MEDIA/movie.mp4" -500 $((S - 500)) $((S - 1))
check "Range past the end is clamped on movie.mp4 ($((S - 10))-$((S + 100)))" check_range movie "$MEDIA/movie.mp4" "$((S - 10))-$((S + 100))" $((S - 10)) $((S - 1))
check "Range starting at EOF on movie.mp4 gives 416 with Content-Range bytes */$S" check_416 movie "$MEDIA/movie.mp4" "$S-"
M=$MOOVEND_SIZE
check_ranges_moovend() {
    check_range moovend "$MEDIA/movie-moov-at-end.mp4" 0-99 0 99
    check_range moovend "$MEDIA/movie-moov-at-end.mp4" 2000000- 2000000 $((M - 1))
    check_range moovend "$MEDIA/movie-moov-at-end.mp4" -12000 $((M - 12000)) $((M - 1))
    check_416 moovend "$MEDIA/movie-moov-at-end.mp4" "$((M + 5))-"
    no_reasons
}
check "Ranges on movie-moov-at-end.mp4 (0-99, 2000000-, -12000, past EOF -> 416)" check_ranges_moovend
check_ranges_redirect() {
    check_range redirect "$MEDIA/movie.mp4" 100-299 100 299
    check_range redirect "$MEDIA/movie.mp4" -1 $((S - 1)) $((S - 1))
    no_reasons
}
check "Ranges through the redirecting channel (100-299, -1)" check_ranges_redirect

# --- HEAD agrees with GET

check_head() { # URL NAME [curl args for both]
    local url=$1 name=$2 hs gs
    shift 2
    hs=$(curl -sS --max-time 20 -I -o /dev/null -D "$WORK/head-$name.h" -w '%{http_code}' "$@" "$url" 2>"$WORK/head-$name.err" || true)
    gs=$(curl -sS --max-time 60 -o "$WORK/get-$name.body" -D "$WORK/get-$name.h" -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
    [ "$hs" = "$gs" ] || why "HEAD -> $hs, GET -> $gs $(cat "$WORK/head-$name.err")"
    local h
    for h in content-type content-length content-range accept-ranges; do
        local a b
        a=$(has_hdr "$WORK/head-$name.h" "$h" && echo "'$(hdr "$WORK/head-$name.h" "$h")'" || echo absent)
        b=$(has_hdr "$WORK/get-$name.h" "$h" && echo "'$(hdr "$WORK/get-$name.h" "$h")'" || echo absent)
        [ "$a" = "$b" ] || why "$h: HEAD $a, GET $b"
    done
    no_reasons
}
check "HEAD agrees with GET on movie.mp4 (status, Content-Type, Content-Length, Accept-Ranges)" check_head "${URL[movie.interop]}" movie
check "HEAD agrees with GET on movie-moov-at-end.mp4 with Range 10-19 (206, Content-Range)" check_head "${URL[moovend.interop]}" moovend -r 10-19
check "HEAD agrees with GET on the gated TS channel" check_head "${URL[gated.interop]}" gated
check "HEAD agrees with GET on the missing channel (502)" check_head "${URL[missing.interop]}" missing
check "HEAD agrees with GET on an unknown channel id (404)" check_head "$RELAY/stream/0000000000000000.ts" unknown
check_head_live() {
    local hs t0 t1
    t0=$(date +%s.%N)
    hs=$(curl -sS --max-time 20 -I -o /dev/null -D "$WORK/head-live.h" -w '%{http_code}' "${URL[live.interop]}" 2>/dev/null || true)
    t1=$(date +%s.%N)
    [ "$hs" = 200 ] || why "HEAD -> $hs"
    [ "$(hdr "$WORK/head-live.h" content-type)" = "$(hdr "$WORK/live-1.h" content-type)" ] || why "Content-Type HEAD '$(hdr "$WORK/head-live.h" content-type)' GET '$(hdr "$WORK/live-1.h" content-type)'"
    has_hdr "$WORK/head-live.h" content-length && why "HEAD gives a Content-Length the GET did not"
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 3) }' || why "HEAD took $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s: the body was not skipped?"
    no_reasons
}
check "HEAD on the live TS channel: 200, same Content-Type as GET, no body wait" check_head_live

# --- ffprobe

check_ffprobe() { # URL NAME
    local out
    out=$(timeout -k 5 30 ffprobe -hide_banner -v error -show_entries stream=codec_type,codec_name \
        -of csv=p=0 "$1" 2>"$WORK/ffprobe-$2.err")
    local rc=$?
    [ $rc = 0 ] || why "ffprobe exit $rc: $(tail -n 5 "$WORK/ffprobe-$2.err")"
    grep -q '^h264,video' <<<"$out" || why "no h264 video stream found: $(echo $out)"
    grep -q '^aac,audio' <<<"$out" || why "no aac audio stream found: $(echo $out)"
    no_reasons
}
check "ffprobe finds h264 + aac in the live TS channel" check_ffprobe "${URL[live.interop]}" live
check "ffprobe finds h264 + aac in movie.mp4 (faststart)" check_ffprobe "${URL[movie.interop]}" movie
check "ffprobe finds h264 + aac in movie-moov-at-end.mp4 (needs Range to reach moov)" check_ffprobe "${URL[moovend.interop]}" moovend
check "ffprobe finds h264 + aac in the gated TS channel" check_ffprobe "${URL[gated.interop]}" gated

# --- ffmpeg full decode

# A live channel's body ends with the connection (no length); ffmpeg's http reader reports any
# such end as "Stream ends prematurely" (it does so for the origin itself too), which -xerror makes
# fatal. So the live channel is decoded with -t (35 s of its 40 s, across the loop seam), stopping
# before the end; files are decoded to their end.
check_decode() { # URL NAME MIN_SECONDS [OUTPUT_OPTIONS...]
    local url=$1 name=$2 min=$3 prog=$WORK/decode-$2.progress rc
    shift 3
    unshared || why "a shared upstream stayed open"
    timeout -k 5 90 ffmpeg -nostdin -hide_banner -v error -xerror -progress "$prog" -i "$url" "$@" -f null - \
        >/dev/null 2>"$WORK/decode-$name.err"
    rc=$?
    [ $rc = 0 ] || why "ffmpeg exit $rc"
    [ -s "$WORK/decode-$name.err" ] && why "ffmpeg errors: $(head -n 5 "$WORK/decode-$name.err")"
    local us
    us=$(grep '^out_time_us=' "$prog" 2>/dev/null | tail -n 1 | cut -d= -f2)
    awk -v u="${us:-0}" -v m="$min" 'BEGIN { exit !(u >= m * 1000000) }' \
        || why "decoded only ${us:-0} us of media, want >= $min s"
    no_reasons
}
check "ffmpeg -xerror decodes 35 s of the live TS channel (across the loop seam) without error" check_decode "${URL[live.interop]}" live 34.9 -t 35

# A second viewer of a running live channel joins the first one's shared upstream: it must start
# on a keyframe (after PAT and PMT) and decode cleanly from there.
check_join_running() { # URL
    local first kf rc
    curl -sS --max-time 20 -o /dev/null "$1" 2>/dev/null &
    first=$!
    sleep 3
    kf=$(timeout -k 5 30 ffprobe -v error -select_streams v -show_frames -read_intervals %+#1 \
        -show_entries frame=key_frame -of csv=p=0 "$1" 2>"$WORK/join-probe.err" | head -n 1 | cut -d, -f1)
    [ "$kf" = 1 ] || why "first video frame of the joining viewer: key_frame=${kf:-none} $(tail -n 3 "$WORK/join-probe.err")"
    timeout -k 5 60 ffmpeg -nostdin -hide_banner -v error -xerror -i "$1" -t 8 -f null - \
        >/dev/null 2>"$WORK/join-decode.err"
    rc=$?
    [ $rc = 0 ] || why "ffmpeg exit $rc: $(head -n 5 "$WORK/join-decode.err")"
    [ -s "$WORK/join-decode.err" ] && why "ffmpeg errors: $(head -n 5 "$WORK/join-decode.err")"
    kill "$first" 2>/dev/null
    wait "$first" 2>/dev/null
    no_reasons
}
check "a viewer joining the running live channel (shared upstream) starts on a keyframe; ffmpeg -xerror decodes 8 s" \
    check_join_running "${URL[live.interop]}"
check "ffmpeg -xerror decodes movie.mp4 without error" check_decode "${URL[movie.interop]}" movie 19
check "ffmpeg -xerror decodes movie-moov-at-end.mp4 without error" check_decode "${URL[moovend.interop]}" moovend 19

# --- mpv

check_mpv() { # URL NAME SECONDS
    unshared || why "a shared upstream stayed open"
    mpv_play "$1" "$3" "$WORK/mpv-$2.log" 40
    no_reasons
}
check "mpv plays the live TS channel (3 s, h264 + aac, position advances)" check_mpv "${URL[live.interop]}" live 3
ol=$(lines "$WORK/origin.log")
check "mpv plays movie-moov-at-end.mp4 (3 s)" check_mpv "${URL[moovend.interop]}" moovend 3
check_seek_seen() { # ORIGIN_PATH SINCE
    origin_lines "$1" "$2" | grep -qE 'range=bytes=[1-9][0-9]*-' \
        || why "the origin saw no Range request past byte 0 for $1: $(origin_lines "$1" "$2" | tail -n 3)"
    no_reasons
}
check "mpv's seek to moov at the end reached the origin as a Range request through the relay" check_seek_seen /movie-moov-at-end.mp4 "$ol"

check_mpv_playlist() {
    local log=$WORK/mpv-playlist.log rc
    timeout -k 5 40 "${MPV[@]}" --length=2 --playlist-start="$MOOVEND_INDEX" "$RELAY/playlist.m3u8" >"$log" 2>&1
    rc=$?
    [ $rc = 0 ] || why "mpv exit $rc: $(tr '\r' '\n' <"$log" | grep -v STATUS | tail -n 5)"
    local played
    played=$(grep -o 'PLAYING .*' "$log" | tr -d '\r' | cut -d' ' -f2 | paste -sd' ')
    [ "$played" = "${URL[moovend.interop]} ${URL[live.interop]}" ] \
        || why "played '$played', want entries $MOOVEND_INDEX and $((MOOVEND_INDEX + 1)): ${URL[moovend.interop]} ${URL[live.interop]}"
    [ "$(grep -c 'Video --vid=1 .*h264' "$log")" -ge 2 ] || why "h264 video found in $(grep -c 'Video --vid=1 .*h264' "$log") of the 2 entries"
    grep -q 'VO: \[null\]' "$log" || why "video output never configured (no frame decoded)"
    grep -q 'Errors when loading' "$log" && why "mpv: errors when loading a file"
    no_reasons
}
check "mpv plays through the relay's playlist itself (entries moov-at-end MP4 then live TS)" check_mpv_playlist

# --- VLC

check_vlc() { # TVG SECONDS
    local id since
    unshared || why "a shared upstream stayed open"
    id=$(id_of "$1")
    since=$(lines "$WORK/relay.log")
    vlc_play "${URL[$1.interop]}" "$2" "$WORK/vlc-$1.log" 40
    relay_streamed "$id" "$since" 100000 \
        || why "the relay's log has no 'stream $id ... N bytes' line with N >= 100000 for this run"
    no_reasons
}
check "cvlc plays the live TS channel (3 s, h264 + audio decoders, no input errors, relay streamed it)" check_vlc live 3
ol=$(lines "$WORK/origin.log")
check "cvlc plays movie-moov-at-end.mp4 (3 s)" check_vlc moovend 3
check "VLC's seek to moov at the end reached the origin as a Range request through the relay" check_seek_seen /movie-moov-at-end.mp4 "$ol"
check "cvlc plays the gated TS channel (headers applied by the relay)" check_vlc gated 2

# --- errors

check_error() { # URL NAME WANT_STATUS BODY_REGEX [curl args]
    local url=$1 name=$2 want=$3 re=$4 st
    shift 4
    st=$(fetch "$url" "err-$name" "$@")
    [ "$st" = "$want" ] || why "GET $url -> $st, want $want ($(head -c 200 "$WORK/err-$name.body" 2>/dev/null))"
    [[ "$(hdr "$WORK/err-$name.h" content-type)" == text/plain* ]] || why "Content-Type '$(hdr "$WORK/err-$name.h" content-type)', want text/plain"
    grep -qiE "$re" "$WORK/err-$name.body" 2>/dev/null || why "body '$(head -c 200 "$WORK/err-$name.body" 2>/dev/null)' does not match /$re/"
    no_reasons
}
check "missing upstream file (origin 404) gives 502 with a plain-text reason naming the 404" \
    check_error "${URL[missing.interop]}" missing 502 '404'
check "closed upstream port gives 502 with a plain-text reason" \
    check_error "${URL[closed.interop]}" closed 502 'refused|connect'
# The status is the proof: the relay answers 504 only when a timeout fired.
check "upstream that sends no response head gives 504 after --upstream-response-timeout" \
    check_error "${URL[stall.interop]}" stall 504 'time' 
check "unknown channel id gives 404" check_error "$RELAY/stream/0123456789abcdef.ts" unknown 404 '.'
check "unknown route gives 404" check_error "$RELAY/nope" route 404 '.'
check "POST gives 405" check_error "$RELAY/health" post 405 '.' -X POST

check_cut() { # TVG MIN_BYTES — the relay must abort the client connection, not end it cleanly
    local st rc size
    st=$(curl -sS --max-time 30 -o "$WORK/cut-$1.body" -w '%{http_code}' "${URL[$1.interop]}" 2>"$WORK/cut-$1.err")
    rc=$?
    size=$(stat -c %s "$WORK/cut-$1.body" 2>/dev/null || echo 0)
    [ "$st" = 200 ] || why "status $st"
    [ $rc = 0 ] && why "curl saw a clean end after $size B: a broken upstream must reach the client as a cut"
    [ $rc = 28 ] && why "curl timed out: the relay did not give up on the stalled upstream"
    [ "$size" -ge "$2" ] || why "only $size B arrived before the cut, want >= $2"
    no_reasons
}
check "upstream body stalling mid-stream: the relay cuts the client (not a clean end) after --upstream-idle-timeout" check_cut stallbody 18800
check "upstream closing before its Content-Length: the relay cuts the client (not a clean end)" check_cut truncated 0

check_raw() { # PAYLOAD WANT_STATUS
    local out
    out=$($HELP raw "$RP" "$1" 2>&1)
    [ "${out%% *}" = "$2" ] || why "sent '$1': got '$out', want $2"
    no_reasons
}
check "malformed request line gives 400" check_raw 'THIS IS NOT HTTP AT ALL\r\n\r\n' 400
check "header line without a colon gives 400" check_raw 'GET /health HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n' 400
check "binary garbage gives 400" check_raw '\x00\x01\x02\x03 \xff\xfe\r\n\r\n' 400
check "invalid Content-Length gives 400" check_raw 'GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n' 400
check "unsupported HTTP version gives 505" check_raw 'GET /health HTTP/2.0\r\nHost: x\r\n\r\n' 505
check_alive() {
    local st
    st=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$RELAY/health" 2>/dev/null || true)
    [ "$st" = 200 ] || why "/health -> $st after the bad requests"
    no_reasons
}
check "the relay still answers after the bad requests" check_alive

# --- SIGHUP reload

check_reload() {
    cat >>"$CATALOG" <<EOF2
#EXTINF:-1 tvg-id="reloaded.interop" tvg-chno="999" group-title="Interop Reload",Added by reload
$ORIGIN/movie.mp4
EOF2
    kill -HUP "$RELAY_PID" 2>/dev/null || why "relay gone before SIGHUP"
    local _ st=
    for _ in $(seq 50); do
        curl -fsS --max-time 2 -o "$WORK/health2.json" "$RELAY/health" 2>/dev/null \
            && $HELP check-json-health "$WORK/health2.json" "$((N_CHANNELS + 1))" >/dev/null 2>&1 && break
        sleep 0.1
    done
    $HELP check-json-health "$WORK/health2.json" "$((N_CHANNELS + 1))" >"$WORK/c.out" 2>&1 \
        || why "after SIGHUP with one more entry in the catalog: $(cat "$WORK/c.out")"
    st=$(fetch "$RELAY/playlist.m3u8" playlist3)
    [ "$st" = 200 ] || why "GET /playlist.m3u8 -> $st after the reload"
    local tid u
    for tid in live movie gated; do
        u=$(grep -A1 "tvg-id=\"$tid.interop\"" "$WORK/playlist3.body" 2>/dev/null | tail -n 1 | tr -d '\r')
        [ "$u" = "${URL[$tid.interop]}" ] || why "$tid: URL after the reload '$u', before '${URL[$tid.interop]}' (ids must be stable)"
    done
    grep -q 'tvg-id="reloaded.interop"' "$WORK/playlist3.body" 2>/dev/null || why "the added channel is not in the playlist"
    st=$(fetch "$(grep -A1 'tvg-id="reloaded.interop"' "$WORK/playlist3.body" 2>/dev/null | tail -n 1 | tr -d '\r')" reloaded -r 0-99)
    [ "$st" = 206 ] || why "the added channel does not play: Range 0-99 -> $st"
    no_reasons
}
check "SIGHUP reloads the catalog: a channel added to the file appears and plays, existing ids stay the same" check_reload

# --- SIGTERM

check_sigterm() {
    kill -TERM "$RELAY_PID" 2>/dev/null || why "relay already gone before SIGTERM"
    local _ rc=
    for _ in $(seq 100); do
        kill -0 "$RELAY_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$RELAY_PID" 2>/dev/null; then
        why "still running 10 s after SIGTERM"
        kill -KILL "$RELAY_PID" 2>/dev/null || true
    fi
    wait "$RELAY_PID"
    rc=$?
    [ "$rc" = 0 ] || why "exit status $rc after SIGTERM"
    grep -q 'relay stopped' "$WORK/relay.log" || why "no 'relay stopped' in its log"
    no_reasons
}
check "relay stops cleanly on SIGTERM (exit 0 within 10 s)" check_sigterm

note "checks done in $(( $(date +%s) - T0 )) s (total, including install/build)"
summary
[ "$FAILED" -eq 0 ]
