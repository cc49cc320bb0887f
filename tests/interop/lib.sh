# Shared by the interop scripts (run.sh, hls.sh): results, work dir and cleanup, installs, the
# relay binary, origin and relay start, small HTTP helpers. Source it after setting HERE:
#
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$HERE/lib.sh"
#
# It creates $WORK (kept when a check failed or INTEROP_KEEP=1), starts nothing by itself, and
# prints the closing `N passed, M failed` line when the script calls `summary` (or on abort).

set -euo pipefail

ROOT=$(cd "$HERE/../.." && pwd)
HELP="python3 $HERE/helpers.py"
T0=$(date +%s)

note() { echo "# $*"; }

# ---------------------------------------------------------------- results

PASSED=0
FAILED=0
WHY=()
why() { WHY+=("$*"); }
# check DESCRIPTION FUNCTION [ARGS...]: runs the function (errexit is off inside it, as it runs in
# an `if`); it fails when it returns non-zero or recorded a reason with `why`.
check() {
    local desc=$1
    shift
    WHY=()
    local rc=0
    if "$@"; then rc=0; else rc=1; fi
    if [ "$rc" -eq 0 ] && [ ${#WHY[@]} -eq 0 ]; then
        PASSED=$((PASSED + 1))
        echo "ok - $desc"
    else
        FAILED=$((FAILED + 1))
        echo "not ok - $desc"
        [ ${#WHY[@]} -eq 0 ] && WHY=("check returned failure")
        local r
        for r in "${WHY[@]}"; do
            printf '%s\n' "$r" | sed 's/^/#   /'
        done
    fi
}
no_reasons() { [ ${#WHY[@]} -eq 0 ]; }

# ---------------------------------------------------------------- work dir, cleanup

WORK=$(mktemp -d /tmp/relay-interop.XXXXXX)
VLC_HOME=$(mktemp -d /tmp/relay-interop-vlc.XXXXXX)
chmod 777 "$VLC_HOME"
PIDS=()
RELAY_PID=
ORIGIN_PID=
FINISHED=0

show_logs() {
    echo "# logs and media kept in $WORK"
    local f
    for f in "$WORK/relay.log" "$WORK/origin.log"; do
        [ -f "$f" ] || continue
        echo "# --- last lines of $f"
        tail -n 40 "$f" | sed 's/^/#   /'
    done
}

cleanup() {
    local rc=$?
    local p
    for p in "${PIDS[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    # the relay may take its shutdown grace (5 s); nothing may outlive the run
    local _
    for _ in $(seq 80); do
        local alive=0
        for p in "${PIDS[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=1
        done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for p in "${PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$VLC_HOME"
    if [ "$FINISHED" != 1 ]; then
        FAILED=$((FAILED + 1))
        echo "not ok - interop run finished (it was aborted, exit $rc)"
        summary
    elif [ "$FAILED" -eq 0 ] && [ "${INTEROP_KEEP:-0}" != 1 ]; then
        rm -rf "$WORK"
    fi
}
# The logs on failure, then the closing `N passed, M failed` line (always the last line).
summary() {
    FINISHED=1
    if [ "$FAILED" -gt 0 ]; then
        show_logs
    elif [ "${INTEROP_KEEP:-0}" = 1 ]; then
        echo "# work directory kept: $WORK"
    fi
    echo "$PASSED passed, $FAILED failed"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Setup failures end the run: one failed check, the counts, exit 1.
bail() {
    FAILED=$((FAILED + 1))
    echo "not ok - $1"
    shift
    local r
    for r in "$@"; do printf '%s\n' "$r" | sed 's/^/#   /'; done
    summary
    exit 1
}

# ---------------------------------------------------------------- installs

# apt_install PKG...: installs the Debian packages with apt-get (root only; INTEROP_NO_INSTALL=1
# forbids it); ends the run when that is impossible or fails.
apt_install() {
    [ $# -eq 0 ] && return 0
    if [ "${INTEROP_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        bail "tools installed" "missing packages: $* (run as root on Debian to install them)"
    fi
    note "installing with apt-get: $*"
    local t
    t=$(date +%s)
    # A failed index download is not fatal by itself: the install below decides.
    apt-get -o DPkg::Lock::Timeout=300 update >>"$WORK/apt.log" 2>&1 \
        || note "apt-get update failed (continuing): $(tail -n 3 "$WORK/apt.log" | tr '\n' ' ')"
    if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y \
        --no-install-recommends "$@" >>"$WORK/apt.log" 2>&1; then
        bail "apt-get install $*" "$(tail -n 20 "$WORK/apt.log")"
    fi
    note "install took $(( $(date +%s) - t )) s"
}
# pkg_installed PKG: the Debian package is installed.
pkg_installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# VLC refuses to run as root: VLC_AS is the prefix that runs it as `nobody` then.
if [ "$(id -u)" = 0 ]; then
    VLC_AS=("$(command -v runuser || echo /usr/sbin/runuser)" -u nobody --)
else
    VLC_AS=()
fi

# ---------------------------------------------------------------- relay binary

# relay_binary: sets RELAY_BIN (given, or built with cargo here).
relay_binary() {
    if [ -n "${RELAY_BIN:-}" ]; then
        [ -x "$RELAY_BIN" ] || bail "relay binary" "RELAY_BIN=$RELAY_BIN is not an executable"
        return 0
    fi
    local profile=${RELAY_BUILD_PROFILE:-release} t
    note "building relay-server (cargo build --profile $profile -p relay-server)"
    t=$(date +%s)
    if ! (cd "$ROOT" && cargo build --profile "$profile" -p relay-server --message-format=json-render-diagnostics \
        >"$WORK/build.json" 2>"$WORK/build.log"); then
        bail "relay-server builds" "$(tail -n 30 "$WORK/build.log")"
    fi
    RELAY_BIN=$(python3 - "$WORK/build.json" <<'EOF'
import json, sys
exe = ""
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == "relay-server" \
            and m.get("executable"):
        exe = m["executable"]
print(exe)
EOF
)
    [ -n "$RELAY_BIN" ] && [ -x "$RELAY_BIN" ] || bail "relay-server builds" "cargo reported no relay-server executable"
    note "built $RELAY_BIN in $(( $(date +%s) - t )) s"
}

# ---------------------------------------------------------------- origin, relay

# start_origin ARGS...: starts origin.py with ARGS (plus --port-file); sets ORIGIN_PID, OP, ORIGIN.
start_origin() {
    python3 "$HERE/origin.py" "$@" --port-file "$WORK/origin.port" \
        >"$WORK/origin.out" 2>"$WORK/origin.log" &
    ORIGIN_PID=$!
    PIDS+=("$ORIGIN_PID")
    local _
    for _ in $(seq 100); do
        [ -s "$WORK/origin.port" ] && break
        kill -0 "$ORIGIN_PID" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$WORK/origin.port" ] || bail "origin starts" "$(tail -n 20 "$WORK/origin.log")"
    OP=$(cat "$WORK/origin.port")
    ORIGIN=http://127.0.0.1:$OP
}

# start_relay ARGS...: starts $RELAY_BIN on a free port (not $OP nor $AVOID_PORT) with ARGS,
# logging to $WORK/relay.log; retried when the port was taken meanwhile. Sets RELAY_PID, RP, RELAY.
start_relay() {
    : >>"$WORK/relay.log"
    local attempt before started=0
    for attempt in 1 2 3; do
        before=$(wc -l <"$WORK/relay.log" 2>/dev/null || echo 0)
        if start_relay_once "$@"; then started=1; break; fi
        kill "$RELAY_PID" 2>/dev/null || true
        wait "$RELAY_PID" 2>/dev/null || true
        # another attempt only when the free port was taken meanwhile
        tail -n +"$((before + 1))" "$WORK/relay.log" | grep -qiE 'address (already )?in use' || break
    done
    [ "$started" = 1 ] || bail "relay starts and answers /health" "$(tail -n 30 "$WORK/relay.log")"
}
start_relay_once() {
    RP=$($HELP free-port)
    while [ "$RP" = "${AVOID_PORT:-}" ] || [ "$RP" = "$OP" ]; do RP=$($HELP free-port); done
    RELAY=http://127.0.0.1:$RP
    RELAY_LOG=debug "$RELAY_BIN" --listen "127.0.0.1:$RP" "$@" \
        >"$WORK/relay.out" 2>>"$WORK/relay.log" &
    RELAY_PID=$!
    PIDS+=("$RELAY_PID")
    local _
    for _ in $(seq 100); do
        if curl -fsS --max-time 2 -o "$WORK/health.json" "$RELAY/health" 2>/dev/null; then
            return 0
        fi
        kill -0 "$RELAY_PID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- HTTP and file helpers

# fetch URL NAME [curl args...]: body to $WORK/NAME.body, headers to $WORK/NAME.h; prints the
# status code (000 when curl failed), never fails.
fetch() {
    local url=$1 name=$2
    shift 2
    curl -sS --max-time 60 -o "$WORK/$name.body" -D "$WORK/$name.h" -w '%{http_code}' "$@" "$url" \
        2>"$WORK/$name.err" || true
}
# hdr FILE NAME: the value of header NAME (case-insensitive, last one wins), empty when absent.
hdr() {
    awk -v n="$(printf '%s' "$2" | tr 'A-Z' 'a-z')" '
        { sub(/\r$/, "") }
        index(tolower($0), n ":") == 1 { v = substr($0, length(n) + 2); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); f = 1 }
        END { if (f) print v }' "$1" 2>/dev/null
}
has_hdr() { grep -qi "^$2:" "$1" 2>/dev/null; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
lines() { wc -l <"$1" | tr -d ' '; }
# the origin's log lines for PATH after line SINCE
origin_lines() { tail -n +"$(($2 + 1))" "$WORK/origin.log" | grep -F " $1" || true; }

# ---------------------------------------------------------------- players

# mpv with null outputs, printing `PLAYING url` at start and `STATUS pos` as it plays.
MPV=(mpv --no-config --ytdl=no --vo=null --ao=null --term-playing-msg='PLAYING ${path}'
    --term-status-msg='STATUS ${=time-pos}')

# mpv_play URL SECONDS LOG LIMIT: plays URL for SECONDS (killed after LIMIT s) with the log in
# LOG; records a reason unless it exited 0, played URL with h264 video and aac audio tracks, a
# configured video output, and a position within 1.2 s of SECONDS.
mpv_play() {
    local url=$1 secs=$2 log=$3 rc pos
    timeout -k 5 "$4" "${MPV[@]}" --length="$secs" "$url" >"$log" 2>&1
    rc=$?
    [ $rc = 0 ] || why "mpv exit $rc: $(tr '\r' '\n' <"$log" | grep -v STATUS | tail -n 5)"
    grep -qF "PLAYING $url" "$log" || why "mpv never started playing $url"
    grep -qE 'Video --vid=1 .*h264' "$log" || why "no h264 video track"
    grep -qE 'Audio --aid=1 .*aac' "$log" || why "no aac audio track"
    grep -q 'VO: \[null\]' "$log" || why "video output never configured (no frame decoded)"
    pos=$($HELP mpv-pos "$log")
    awk -v p="$pos" -v s="$secs" 'BEGIN { exit !(p + 0 >= s - 1.2) }' || why "playback reached ${pos} s of $secs s"
}

# vlc_play URL SECONDS LOG LIMIT: cvlc (as nobody when root) plays URL for SECONDS (killed after
# LIMIT s) with a verbose log in LOG; records a reason unless it exited 0, opened the input,
# started an h264 and an audio decoder, finished buffering, and logged no error.
vlc_play() {
    local url=$1 secs=$2 log=$3 rc errs
    timeout -k 5 "$4" "${VLC_AS[@]}" env HOME="$VLC_HOME" cvlc --no-dbus --no-media-library \
        --no-auto-preparse --no-metadata-network-access --no-http-reconnect \
        --intf dummy --vout dummy --aout dummy --no-video-title-show \
        --play-and-exit --run-time="$secs" -vv "$url" >"$log" 2>&1
    rc=$?
    [ $rc = 0 ] || why "cvlc exit $rc"
    grep -q 'successfully opened' "$log" || why "VLC did not open the input"
    grep -q 'codec (h264) started' "$log" || why "VLC started no h264 decoder"
    grep -q 'using audio decoder module' "$log" || why "VLC started no audio decoder"
    grep -q 'Stream buffering done' "$log" || why "VLC never finished buffering (no playback)"
    errs=$(grep -E '\] [^]]* error: ' "$log" | grep -vE 'interface error|libvlc error: interface' | head -n 5)
    [ -n "$errs" ] && why "VLC errors: $errs"
}
