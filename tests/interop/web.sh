#!/usr/bin/env bash
# Interop tier, web page part: relay's page (relay-core/src/web) in headless Chromium, driven
# over the DevTools protocol by tests/interop/web-driver.js (node, no npm packages): it loads the
# page, waits for the channel grid, filters by group, searches (`/` focuses the box), plays a live
# MPEG-TS channel with mpegts.js (keyboard: ArrowDown, Enter) and an HLS channel with hls.js
# (mouse) until the video time advances, checks the codec message and the VLC link on MPEG-2
# channels, the links-only mode without player scripts, a phone-sized viewport, dark mode, and
# collects console errors (there must be none).
#
#   bash tests/interop/web.sh
#
# Screenshots (kept, also when everything passed; CI keeps them as artifacts):
#   target/interop-artifacts/web.png         desktop, the TS channel playing
#   target/interop-artifacts/web-phone.png   390x844 phone viewport, the grid
#   target/interop-artifacts/web-dark.png    desktop, prefers-color-scheme: dark
#
# Environment: as run.sh (RELAY_BIN, RELAY_BUILD_PROFILE, INTEROP_NO_INSTALL, INTEROP_KEEP), and
#   INTEROP_TOOLS    where hls.js and mpegts.js are installed with npm and kept between runs
#                    (default: target/interop-tools in the repository)
#   WEB_VIA          proxy: the page is served by tests/interop/webserve.py, which proxies the rest
#                    to the relay (started with --public-url pointing at it, so every URL the API
#                    gives is on the page's origin); relay: the relay serves `/` itself, started
#                    with --web-assets; auto (default): relay when `relay-server --help` lists
#                    --web-assets, else proxy
#
# Output: one `ok - ...` / `not ok - ...` line per check, then `N passed, M failed`.
# Needs root (or the tools already there): installs ffmpeg, chromium, npm and curl with apt-get
# when missing; hls.js 1.7.x and mpegts.js 1.8.x with npm (public registry) under INTEROP_TOOLS.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

TOOLS=${INTEROP_TOOLS:-$ROOT/target/interop-tools}
ARTIFACTS=$ROOT/target/interop-artifacts
HLSJS_PIN=1.7
MPEGTS_PIN=1.8
mkdir -p "$TOOLS" "$ARTIFACTS"

# ---------------------------------------------------------------- 1. tools

install_tools() {
    local pkgs=()
    { command -v ffmpeg && command -v ffprobe; } >/dev/null 2>&1 || pkgs+=(ffmpeg)
    command -v curl >/dev/null 2>&1 || pkgs+=(curl)
    command -v chromium >/dev/null 2>&1 || pkgs+=(chromium)
    { command -v npm && command -v node; } >/dev/null 2>&1 || pkgs+=(npm)
    if [ ${#pkgs[@]} -eq 0 ]; then
        note "tools: all Debian packages present; nothing to install"
        return 0
    fi
    apt_install "${pkgs[@]}"
}
install_tools
for tool in ffmpeg curl chromium node npm python3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || bail "tool $tool available" "not on PATH after install"
done

NM=$TOOLS/node_modules
pkg_version() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["version"])' "$NM/$1/package.json" 2>/dev/null; }
# Both in one npm run: a later `npm install --no-save` of one package would prune the other.
install_players() {
    if [[ "$(pkg_version hls.js)" != "$HLSJS_PIN".* ]] || [[ "$(pkg_version mpegts.js)" != "$MPEGTS_PIN".* ]] \
        || [ ! -f "$NM/hls.js/dist/hls.min.js" ] || [ ! -f "$NM/mpegts.js/dist/mpegts.js" ]; then
        note "installing hls.js@$HLSJS_PIN and mpegts.js@$MPEGTS_PIN with npm into $TOOLS"
        local t
        t=$(date +%s)
        npm install --prefix "$TOOLS" --no-save --no-audit --no-fund --loglevel=error \
            "hls.js@$HLSJS_PIN" "mpegts.js@$MPEGTS_PIN" >"$WORK/npm.log" 2>&1 \
            || { why "npm install failed: $(tail -n 5 "$WORK/npm.log")"; return 1; }
        note "npm install took $(( $(date +%s) - t )) s"
    fi
    [[ "$(pkg_version hls.js)" == "$HLSJS_PIN".* ]] || why "hls.js $(pkg_version hls.js), want $HLSJS_PIN.x"
    [[ "$(pkg_version mpegts.js)" == "$MPEGTS_PIN".* ]] || why "mpegts.js $(pkg_version mpegts.js), want $MPEGTS_PIN.x"
    note "hls.js $(pkg_version hls.js), mpegts.js $(pkg_version mpegts.js), node $(node --version), $(chromium --version 2>/dev/null)"
    no_reasons
}
check "hls.js $HLSJS_PIN.x and mpegts.js $MPEGTS_PIN.x available (npm, under $TOOLS)" install_players
# the assets directory the page loads them from (what --web-assets DIR holds)
ASSETS=$WORK/assets
mkdir -p "$ASSETS"
cp "$NM/hls.js/dist/hls.min.js" "$NM/mpegts.js/dist/mpegts.js" "$ASSETS/" 2>/dev/null \
    || bail "player scripts copied to the assets directory" "see the npm check above"

# ---------------------------------------------------------------- 2. media

MEDIA=$WORK/media
MEDIA2=$WORK/media-mpeg2
HLS=$WORK/hls
mkdir -p "$MEDIA" "$MEDIA2" "$HLS/live" "$HLS/mpeg2" "$HLS/ac3"
t=$(date +%s)
FF=(ffmpeg -nostdin -hide_banner -v error -y)
SRC=(-f lavfi -i "testsrc2=size=320x180:rate=25" -f lavfi -i "sine=frequency=440:sample_rate=48000" -t 16)
H264=(-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac -b:a 64k -ac 2)
# h264 + aac: a live TS (the origin loops /live.ts) and a live HLS window; MPEG-2 video + MP2
# audio (video browsers cannot decode): a live TS (a second origin loops it) and an HLS playlist;
# MPEG-2 video + AC-3 audio (neither decodes): a TS file and an HLS playlist
if ! { "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a "${H264[@]}" -f mpegts -muxrate 0 "$MEDIA/live.ts" \
    && "${FF[@]}" -i "$MEDIA/live.ts" -map 0 -c copy -movflags +faststart "$MEDIA/movie.mp4" \
    && cp "$MEDIA/movie.mp4" "$MEDIA/movie-moov-at-end.mp4" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a "${H264[@]}" -f hls -hls_time 2 -hls_list_size 0 \
        -hls_segment_filename "$HLS/live/seg%d.ts" "$HLS/live/index.m3u8" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a -c:v mpeg2video -q:v 4 -g 25 -c:a mp2 -b:a 128k \
        -f mpegts -muxrate 0 "$MEDIA2/live.ts" \
    && cp "$MEDIA/movie.mp4" "$MEDIA2/movie.mp4" && cp "$MEDIA/movie.mp4" "$MEDIA2/movie-moov-at-end.mp4" \
    && "${FF[@]}" -i "$MEDIA2/live.ts" -map 0 -c copy -f hls -hls_time 2 -hls_playlist_type vod \
        -hls_segment_filename "$HLS/mpeg2/seg%d.ts" "$HLS/mpeg2/index.m3u8" \
    && "${FF[@]}" "${SRC[@]}" -map 0:v -map 1:a -c:v mpeg2video -q:v 4 -g 25 -c:a ac3 -b:a 128k \
        -f mpegts -muxrate 0 "$HLS/ac3/live.ts" \
    && "${FF[@]}" -i "$HLS/ac3/live.ts" -map 0 -c copy -f hls -hls_time 2 -hls_playlist_type vod \
        -hls_segment_filename "$HLS/ac3/seg%d.ts" "$HLS/ac3/index.m3u8"; } 2>"$WORK/ffmpeg-media.log"; then
    bail "media generated with ffmpeg" "$(tail -n 20 "$WORK/ffmpeg-media.log")"
fi
note "media: $(find "$MEDIA" "$HLS" -type f | wc -l) files, $(du -sck "$MEDIA" "$HLS" | tail -n 1 | cut -f1) KiB in $(( $(date +%s) - t )) s"

# ---------------------------------------------------------------- 3. origin, catalog, relay, page

start_origin --media "$MEDIA" --hls "$HLS" --live-window 4
# a second origin for the live MPEG-2 TS (an origin loops one live.ts)
python3 "$HERE/origin.py" --media "$MEDIA2" --port-file "$WORK/origin2.port" \
    >"$WORK/origin2.out" 2>"$WORK/origin2.log" &
PIDS+=($!)
for _ in $(seq 100); do
    [ -s "$WORK/origin2.port" ] && break
    sleep 0.1
done
[ -s "$WORK/origin2.port" ] || bail "second origin starts" "$(tail -n 20 "$WORK/origin2.log")"
ORIGIN2=http://127.0.0.1:$(cat "$WORK/origin2.port")
note "origins at $ORIGIN and $ORIGIN2"

relay_binary
case ${WEB_VIA:-auto} in
    auto) if "$RELAY_BIN" --help 2>&1 | grep -q -- '--web-assets'; then VIA=relay; else VIA=proxy; fi ;;
    relay | proxy) VIA=$WEB_VIA ;;
    *) bail "WEB_VIA is auto, relay or proxy" "got '$WEB_VIA'" ;;
esac

# The page's own port first: with the proxy, the relay writes it into every URL (--public-url).
if [ "$VIA" = proxy ]; then
    WP=$($HELP free-port)
    AVOID_PORT=$WP
    PAGE=http://127.0.0.1:$WP
    LOGO=$PAGE/test/logo.svg
else
    LOGO=
fi

CATALOG=$WORK/catalog.m3u
# Live TS paced at 1.2x real time for minutes (the browser plays it live); the others are files.
cat >"$CATALOG" <<EOF
#EXTM3U
#EXTINF:-1 tvg-id="live.web" tvg-chno="101" tvg-logo="$LOGO" group-title="Web Live",Live TS
$ORIGIN/live.ts?loops=12&speed=1.2
#EXTINF:-1 tvg-id="hls.web" tvg-chno="102" group-title="Web Live",Live HLS window
$ORIGIN/hls/live/index.m3u8
#EXTINF:-1 tvg-id="mpeg2ts.web" tvg-chno="201" group-title="Web Legacy",Old MPEG-2 TS
$ORIGIN2/live.ts?loops=12&speed=1.2
#EXTINF:-1 tvg-id="mpeg2hls.web" tvg-chno="202" group-title="Web Legacy",Old MPEG-2 HLS
$ORIGIN/hls/mpeg2/index.m3u8
#EXTINF:-1 tvg-id="ac3ts.web" tvg-chno="203" group-title="Web Legacy",Old AC-3 TS
$ORIGIN/hls/ac3/live.ts
#EXTINF:-1 tvg-id="ac3hls.web" tvg-chno="204" group-title="Web Legacy",Old AC-3 HLS
$ORIGIN/hls/ac3/index.m3u8
#EXTINF:-1 tvg-id="movie.web" group-title="Web Movies",A movie file
$ORIGIN/movie.mp4
EOF
N_CHANNELS=$(grep -c '^#EXTINF' "$CATALOG")

if [ "$VIA" = proxy ]; then
    start_relay --catalog "$CATALOG" --state-dir "$WORK/state" --public-url "$PAGE"
    python3 "$HERE/webserve.py" --page "$ROOT/relay-core/src/web" --assets "$ASSETS" --relay "$RELAY" \
        --port "$WP" --port-file "$WORK/web.port" >"$WORK/web.out" 2>"$WORK/web.log" &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ -s "$WORK/web.port" ] && break
        sleep 0.1
    done
    [ -s "$WORK/web.port" ] || bail "webserve.py starts on port $WP" "$(tail -n 20 "$WORK/web.log")"
    BARE=$PAGE/bare/
    GUIDE=$PAGE/guide/
else
    start_relay --catalog "$CATALOG" --state-dir "$WORK/state" --web-assets "$ASSETS"
    PAGE=$RELAY
    BARE=
    GUIDE=
fi
note "relay $RELAY_BIN at $RELAY (pid $RELAY_PID); page at $PAGE/ (via $VIA); work dir $WORK"

check_page_served() {
    local st
    st=$(fetch "$PAGE/" page)
    [ "$st" = 200 ] || why "GET $PAGE/ -> $st"
    [[ "$(hdr "$WORK/page.h" content-type)" == text/html* ]] || why "Content-Type '$(hdr "$WORK/page.h" content-type)'"
    grep -q '<meta name="relay-assets" content="[^"]' "$WORK/page.body" || why "the relay-assets meta is not filled in"
    st=$(fetch "$PAGE/api/channels" channels)
    [ "$st" = 200 ] || why "GET $PAGE/api/channels -> $st"
    # every stream URL the API gives is on the page's origin
    local off
    off=$(python3 -c 'import json,sys; print(" ".join(c["url"] for c in json.load(open(sys.argv[1]))["channels"] if not c["url"].startswith(sys.argv[2] + "/")))' \
        "$WORK/channels.body" "$PAGE" 2>&1)
    [ -z "$off" ] || why "stream URLs not under $PAGE/: $off"
    no_reasons
}
check "the page and the API answer on $PAGE/ (text/html, assets meta filled, stream URLs on the same origin)" check_page_served

EVENTS=false
[ "$(fetch "$PAGE/api/events?q=" events)" = 200 ] && EVENTS=true
note "GET /api/events: $( [ $EVENTS = true ] && echo 200, the page must show it || echo not 200, the page must hide it)"

# ---------------------------------------------------------------- 4. the page in Chromium

PROFILE=$(mktemp -d "$WORK/chromium.XXXXXX")
python3 - "$WORK/plan.json" <<EOF
import json, sys
json.dump({
    "chromium": "$(command -v chromium)", "profile": "$PROFILE", "page": "$PAGE/",
    "bare": "$BARE" or None, "guide": "$GUIDE" or None, "channels": $N_CHANNELS,
    "groups": {"Web Live": 2, "Web Legacy": 4, "Web Movies": 1},
    "ts": {"search": "live ts", "name": "Live TS"},
    "hls": {"search": "HLS window", "name": "Live HLS window"},
    "codec": [{"search": "MPEG-2 TS", "name": "Old MPEG-2 TS", "engine": "mpegts.js"},
              {"search": "MPEG-2 HLS", "name": "Old MPEG-2 HLS", "engine": "hls.js"},
              {"search": "AC-3 TS", "name": "Old AC-3 TS", "engine": "mpegts.js"},
              {"search": "AC-3 HLS", "name": "Old AC-3 HLS", "engine": "hls.js"}],
    "events": $( [ $EVENTS = true ] && echo True || echo False ), "play_seconds": 3,
    "screenshot": "$ARTIFACTS/web.png", "screenshot_phone": "$ARTIFACTS/web-phone.png",
    "screenshot_dark": "$ARTIFACTS/web-dark.png",
}, open(sys.argv[1], "w"), indent=1)
EOF
rm -f "$ARTIFACTS/web.png" "$ARTIFACTS/web-phone.png" "$ARTIFACTS/web-dark.png"
t=$(date +%s)
timeout -k 5 300 node "$HERE/web-driver.js" "$WORK/plan.json" "$WORK/report.json" >"$WORK/driver.log" 2>&1 &
DRIVER=$!
PIDS+=("$DRIVER")
wait "$DRIVER" || note "driver exit $?: $(tail -n 5 "$WORK/driver.log")"
note "driver ran $(( $(date +%s) - t )) s"
[ -s "$WORK/report.json" ] || bail "the driver wrote a report" "$(tail -n 20 "$WORK/driver.log")"

# step NAME: the driver's step passed (its reasons otherwise); prints its info as a note
step() {
    local out
    out=$(python3 - "$WORK/report.json" "$1" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
steps = [s for s in r["steps"] if s["name"] in (sys.argv[2], "driver")]
for s in steps:
    print(("INFO " if s["ok"] else "WHY ") + (json.dumps(s["info"]) if s["ok"] else "; ".join(s["why"]))[:1500])
if not any(s["name"] == sys.argv[2] for s in steps):
    print("WHY the driver did not get to this step")
EOF
)
    while IFS= read -r line; do
        case $line in
            INFO*) note "$1: ${line#INFO }" ;;
            WHY*) why "${line#WHY }" ;;
        esac
    done <<<"$out"
    no_reasons
}
check "loads: the grid shows all $N_CHANNELS channels (logos or initials, numbers)" step load
check "the playlist, guide and tuner URLs to copy are the page's origin + /playlist.m3u8, /epg.xml, and the origin" step urls
check "the group filter shows each group's channels and 'All groups' brings all back" step groups
check "the events section is $( [ $EVENTS = true ] && echo shown || echo hidden) (/api/events $( [ $EVENTS = true ] && echo answers 200 || echo is absent))" step events
check "the status strip shows viewers and streams from /health" step status
check "'/' focuses the search box; typing filters the grid (server-side ?q=) and the search stays in the URL" step search
check "keyboard: ArrowDown to the card, Enter plays the live TS channel with mpegts.js (video time advances 3 s, frames decoded); Escape closes and focus returns" step play-ts
check "a click plays the live HLS channel with hls.js (video time advances 3 s, frames decoded); Escape closes" step play-hls
check "arrow keys move in the grid (right, down by a row, up) with one card in the tab order" step grid-keys
check "a live MPEG-2/MP2 TS channel (mpegts.js) gives a 'cannot be shown' message with a vlc:// link to the stream URL, focused" step "codec Old MPEG-2 TS"
check "an MPEG-2/MP2 HLS channel (hls.js) gives a 'cannot be shown' message with a vlc:// link to the stream URL, focused" step "codec Old MPEG-2 HLS"
check "an MPEG-2/AC-3 TS file (mpegts.js, nothing decodable) gives a 'cannot play' message with a vlc:// link, focused" step "codec Old AC-3 TS"
check "an MPEG-2/AC-3 HLS channel (hls.js, nothing decodable) gives a 'cannot play' message with a vlc:// link, focused" step "codec Old AC-3 HLS"
if [ -n "$BARE" ]; then
    check "under a path prefix with no player scripts: relative URLs work, ?q= is applied, playing offers links only" step bare
fi
if [ -n "$GUIDE" ]; then
    check "with a guide (webserve.py's stand-in): cards show now (progress) and next, programmes are listed and searched, a click plays the channel" step guide
fi
check "a 390 px phone viewport: 2-3 columns, no sideways scrolling" step phone
check "prefers-color-scheme: dark gives a dark page" step dark
check "every visible control has an accessible name" step labels

check_console() {
    local out
    out=$(python3 - "$WORK/report.json" "$EVENTS" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
for c in r["console"]:
    print(f"{c['kind']}: {c['text'][:300]}")
for n in r["network"]:
    # Chromium logs any 4xx as a network error: the page's one probe of the absent events route
    # is expected, nothing else is.
    if sys.argv[2] == "false" and "/api/events?q=" in n["url"] and "404" in n["text"]:
        continue
    print(f"{n['source']} {n['level']}: {n['text'][:200]} {n['url'][:200]}")
EOF
)
    [ -z "$out" ] || why "$out"
    no_reasons
}
check "no console errors or warnings (exceptions, console.error/warn, failed loads) during all of the above" check_console

check_requests() {
    local out
    out=$(python3 - "$WORK/report.json" "$PAGE" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
off = sorted({u for u in r["requests"] if not u.startswith((sys.argv[2] + "/", "data:", "blob:", "about:"))})
print("\n".join(off[:10]))
EOF
)
    [ -z "$out" ] || why "requests off the page's origin: $out"
    no_reasons
}
check "every request the page made went to its own origin (no provider URL)" check_requests

check_screenshots() {
    local f
    for f in web.png web-phone.png web-dark.png; do
        [ -s "$ARTIFACTS/$f" ] || { why "no $ARTIFACTS/$f"; continue; }
        [ "$(head -c 8 "$ARTIFACTS/$f" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || why "$f is not a PNG"
    done
    note "screenshots: $(cd "$ARTIFACTS" && ls -l web*.png | awk '{ print $NF " " $5 " B" }' | paste -sd, -)"
    no_reasons
}
check "screenshots saved under $ARTIFACTS (web.png, web-phone.png, web-dark.png)" check_screenshots

check_relay_log() {
    local w
    w=$(grep -E '^(WARN|ERROR)' "$WORK/relay.log" | grep -v 'mpeg2' | head -n 5)
    [ -z "$w" ] || why "$w"
    no_reasons
}
check "the relay logged no warning or error (besides the MPEG-2 channels' viewers leaving)" check_relay_log

note "checks done in $(( $(date +%s) - T0 )) s (total, including installs)"
summary
[ "$FAILED" -eq 0 ]
