#!/usr/bin/env bash
# Load benchmark on one machine over loopback, side by side in one run:
#   direct from the origin (the limit), nginx as reverse proxy (proxy_buffering off,
#   proxy_buffer_size 64k), haproxy in mode tcp with splice (the zero-copy reference), the relay.
# Figures: single-stream GB/s of a FILE_MB file (median of RUNS), proxy CPU seconds per GB,
# VIEWERS viewers of a RATE bit/s live channel (relay shared and not shared): share of viewers
# that received >= 98% of their bytes over SECS, proxy RSS per viewer, upstream connections
# used; idle relay RSS. Then DOWNLOADS downloads of the FILE_MB file through the relay from an
# nginx sendfile origin (keep-alive, as nginx serves files by default), half at full speed and
# half with curl --limit-rate LIMIT_RATE, two at a time: how many ended short or reset. Then
# CHANNELS live channels with one viewer each (the home and hotel case) through nginx, haproxy and
# the relay (shared, its default, and not shared): share served, RSS per viewer, CPU s/GB, time to
# first byte p99. Then wrk -c 64 on a 600-segment live HLS playlist and on one segment, through
# nginx (proxying the nginx file server) and through the relay (served from its memory).
#
#   bash benches/load/run.sh                   # the full run (1 GiB, 1000 viewers, 20 s)
#   FILE_MB=64 VIEWERS=50 SECS=3 RUNS=1 bash benches/load/run.sh   # a quick smoke run
#   ONLY=downloads bash benches/load/run.sh    # only the downloads (20 x 1 GiB)
#   ONLY=channels bash benches/load/run.sh     # only CHANNELS channels with one viewer each
#   ONLY=playlists bash benches/load/run.sh    # only wrk on a 600-segment HLS playlist and a segment
#   RELAY_BIN=/path/to/relay-server ...        # measure another relay build
#
# Installs nginx and haproxy with apt-get when missing. Needs ~FILE_MB of space in WORK.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
FILE_MB=${FILE_MB:-1024}
VIEWERS=${VIEWERS:-1000}
SECS=${SECS:-20}
RATE=${RATE:-4000000}
DOWNLOADS=${DOWNLOADS:-20}
CHANNELS=${CHANNELS:-1000}
LIMIT_RATE=${LIMIT_RATE:-200M}
ONLY=${ONLY:-all}
WORK=${WORK:-/tmp/relay-load}
ORIGIN=127.0.0.1:18080
NGINX=127.0.0.1:18081
HAPROXY=127.0.0.1:18082
RELAY=127.0.0.1:18083
RELAY_NOSHARE=127.0.0.1:18084
FILES=127.0.0.1:18085
NGINX_FILES=127.0.0.1:18086

need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "installing $2 ..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$2" >/dev/null
}
need nginx nginx-light || need nginx nginx
need haproxy haproxy
need curl curl
need wrk wrk
NGINX_BIN=$(command -v nginx)
HAPROXY_BIN=$(command -v haproxy)

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -q -p relay-server
cargo build --release -q -p relay-benches --bin relay-load
BIN=$PWD/target/release
RELAY_BIN=${RELAY_BIN:-$BIN/relay-server}
mkdir -p "$WORK"
FILE=$WORK/file-$FILE_MB.bin
[ -f "$FILE" ] || head -c "${FILE_MB}M" /dev/urandom > "$FILE"

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

"$BIN/relay-load" origin "$ORIGIN" "$FILE" "$RATE" & PIDS+=($!); ORIGIN_PID=$!

cat > "$WORK/nginx.conf" <<CONF
worker_processes 2;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx.err warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fastcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  server {
    listen $NGINX;
    location / {
      proxy_pass http://$ORIGIN;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_buffer_size 64k;
      # Needed for nginx to accept a 64k buffer size (unused with buffering off).
      proxy_buffers 8 64k;
      proxy_busy_buffers_size 128k;
      proxy_read_timeout 1h;
    }
  }
  # The file origin of the downloads: static files with sendfile, keep-alive connections.
  server {
    listen $FILES;
    root $WORK;
    sendfile on;
    tcp_nopush on;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
  }
  # nginx in front of the file origin, for the HLS playlist and segment runs.
  server {
    listen $NGINX_FILES;
    location / {
      proxy_pass http://$FILES;
      proxy_http_version 1.1;
      proxy_buffering off;
      proxy_buffer_size 64k;
      proxy_buffers 8 64k;
      proxy_busy_buffers_size 128k;
    }
  }
}
CONF
"$NGINX_BIN" -c "$WORK/nginx.conf" -p "$WORK" & PIDS+=($!); NGINX_PID=$!

cat > "$WORK/haproxy.cfg" <<CONF
global
  maxconn 6000
defaults
  mode tcp
  option splice-auto
  timeout connect 5s
  timeout client 1h
  timeout server 1h
frontend front
  bind $HAPROXY
  default_backend origin
backend origin
  server o $ORIGIN
CONF
"$HAPROXY_BIN" -f "$WORK/haproxy.cfg" -db 2>"$WORK/haproxy.err" & PIDS+=($!); HAPROXY_PID=$!

cat > "$WORK/catalog.m3u" <<CONF
#EXTM3U
#EXTINF:-1,File
http://$ORIGIN/file.mp4
#EXTINF:-1,Live
http://$ORIGIN/live.ts
#EXTINF:-1,Big
http://$FILES/$(basename "$FILE")
CONF
# A live HLS window of 600 segments (token-like query strings) and one segment.
mkdir -p "$WORK/hls/seg"
{ printf '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1000\n'
  for i in $(seq 1000 1599); do printf '#EXTINF:6.000,\nseg/%s.ts?token=abcdef0123456789abcdef&expires=1733300000\n' "$i"; done
} > "$WORK/hls/live.m3u8"
head -c 188000 /dev/zero | tr '\0' 'G' > "$WORK/hls/seg/1000.ts"
printf '#EXTINF:-1,HLS\nhttp://%s/hls/live.m3u8\n' "$FILES" >> "$WORK/catalog.m3u"
for i in $(seq "$CHANNELS"); do
  printf '#EXTINF:-1,Ch %s\nhttp://%s/live%s.ts\n' "$i" "$ORIGIN" "$i" >> "$WORK/catalog.m3u"
done
RELAY_LOG=warn "$RELAY_BIN" --listen "$RELAY" --catalog "$WORK/catalog.m3u" \
  --max-connections 20000 --threads 2 & PIDS+=($!); RELAY_PID=$!
RELAY_LOG=warn "$RELAY_BIN" --listen "$RELAY_NOSHARE" --catalog "$WORK/catalog.m3u" \
  --max-connections 20000 --threads 2 --share never & PIDS+=($!); RELAY_NOSHARE_PID=$!

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return
    sleep 0.1
  done
  echo "nothing listens on $1 (see $WORK/*.err)" >&2
  exit 1
}
for a in "$ORIGIN" "$NGINX" "$HAPROXY" "$RELAY" "$RELAY_NOSHARE" "$FILES" "$NGINX_FILES"; do wait_port "$a"; done
sleep 1

# Sum of user+system ticks (and RSS kB) of a process and its children.
tree() { echo "$1"; pgrep -P "$1" || true; }
ticks() { local t=0; for p in $(tree "$1"); do
  t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done; echo $t; }
rss_kb() { local r=0; for p in $(tree "$1"); do
  r=$((r + $(awk '/VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0))); done; echo $r; }
HZ=$(getconf CLK_TCK)
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "-"; else print a[int((NR+1)/2)]}'; }
curl_stats() { exec 3<>"/dev/tcp/${ORIGIN%:*}/${ORIGIN#*:}"; printf 'GET /stats HTTP/1.1\r\nHost: o\r\n\r\n' >&3;
  sed -n 's/^connections=//p' <&3; exec 3<&-; }

IDLE_RSS=$(rss_kb "$RELAY_PID")
ids=$(exec 3<>"/dev/tcp/${RELAY%:*}/${RELAY#*:}"; printf 'GET /api/channels HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n' >&3; cat <&3)
FILE_ID=$(echo "$ids" | grep -o '"id":"[0-9a-f]*","name":"File"' | cut -d'"' -f4)
LIVE_ID=$(echo "$ids" | grep -o '"id":"[0-9a-f]*","name":"Live"' | cut -d'"' -f4)
BIG_ID=$(echo "$ids" | grep -o '"id":"[0-9a-f]*","name":"Big"' | cut -d'"' -f4)

# DOWNLOADS downloads of the file from the nginx sendfile origin through the relay, two at a
# time (one at full speed, one at LIMIT_RATE); a download fails when it is short, reset or not
# a 200. Sets DL_FAIL_FAST, DL_FAIL_LIMITED and DL_SECS.
downloads() {
  local url="http://$RELAY/stream/$BIG_ID.mp4" want start i kind r rest pair=() rate
  want=$(stat -c %s "$FILE")
  DL_FAIL_FAST=0 DL_FAIL_LIMITED=0
  rm -f "$WORK"/download-*.out
  start=$(date +%s)
  for i in $(seq "$DOWNLOADS"); do
    if [ $((i % 2)) = 1 ]; then kind=fast; rate=(); else kind=limited; rate=(--limit-rate "$LIMIT_RATE"); fi
    (
      rc=0
      out=$(curl -s -o /dev/null --max-time 3600 "${rate[@]}" -w '%{http_code} %{size_download}' "$url") || rc=$?
      read -r code size <<<"$out"
      if [ "$rc" = 0 ] && [ "$code" = 200 ] && [ "$size" = "$want" ]; then r=ok; else r=FAIL; fi
      echo "$kind $r curl_exit=$rc status=$code bytes=$size" > "$WORK/download-$i.out"
    ) &
    pair+=($!)
    # Two at a time: wait after each limited (even-numbered) download and after the last.
    if [ "$kind" = limited ] || [ "$i" = "$DOWNLOADS" ]; then wait "${pair[@]}"; pair=(); fi
  done
  DL_SECS=$(($(date +%s) - start))
  for i in $(seq "$DOWNLOADS"); do
    read -r kind r rest < "$WORK/download-$i.out"
    echo "download $i: $kind $r $rest" >&2
    if [ "$r" = FAIL ]; then
      if [ "$kind" = fast ]; then DL_FAIL_FAST=$((DL_FAIL_FAST + 1)); else DL_FAIL_LIMITED=$((DL_FAIL_LIMITED + 1)); fi
    fi
  done
}
download_line() {
  echo "downloads through the relay from an nginx sendfile origin: $DOWNLOADS x ${FILE_MB} MiB" \
    "($(((DOWNLOADS + 1) / 2)) fast, $((DOWNLOADS / 2)) at --limit-rate $LIMIT_RATE, two at a time," \
    "${DL_SECS} s): failures (short or reset) $((DL_FAIL_FAST + DL_FAIL_LIMITED))" \
    "(fast $DL_FAIL_FAST, limited $DL_FAIL_LIMITED)"
}
declare -A SERVED RSSV UPS CPUV TTFB
live_run() { # name url pid [viewers]
  local name=$1 url=$2 pid=$3 n=${4:-$VIEWERS} up0 rss0 out peak=0 t0 t1
  up0=$(curl_stats); rss0=$(rss_kb "$pid"); t0=$(ticks "$pid")
  "$BIN/relay-load" viewers "$url" "$n" "$SECS" "$RATE" > "$WORK/viewers.out" &
  local vp=$!
  while kill -0 "$vp" 2>/dev/null; do
    r=$(rss_kb "$pid"); [ "$r" -gt "$peak" ] && peak=$r; sleep 1
  done
  wait "$vp" || true
  t1=$(ticks "$pid")
  out=$(cat "$WORK/viewers.out")
  echo "live $name: $out" >&2
  SERVED[$name]=$(echo "$out" | sed -n 's/.* share=\([0-9.]*\).*/\1/p')
  TTFB[$name]=$(echo "$out" | sed -n 's/.* ttfb_p99_s=\([0-9.]*\).*/\1/p')
  RSSV[$name]=$(awk -v p="$peak" -v r="$rss0" -v n="$n" 'BEGIN {printf "%.1f", (p - r) / n}')
  # CPU over the viewers' whole run (ramp, 1 s settle, SECS) per GB delivered in it.
  CPUV[$name]=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v n="$n" -v r="$RATE" -v s="$SECS" \
    'BEGIN {printf "%.2f", d / hz / (n * r / 8 * (s + 1) / 1e9)}')
  UPS[$name]=$(( $(curl_stats) - up0 ))
  sleep 7 # shared upstreams linger 5 s; let connections drain between runs
}
# CHANNELS channels, one viewer each: the relays' stream URLs from /api/channels, the proxies'
# straight to the origin's /liveN.ts.
channels_run() {
  local api
  api=$(exec 3<>"/dev/tcp/${RELAY%:*}/${RELAY#*:}"; printf 'GET /api/channels HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$RELAY" >&3; cat <&3)
  echo "$api" | grep -o '"id":"[0-9a-f]*","name":"Ch [0-9]*"' | cut -d'"' -f4 \
    | sed "s|.*|http://$RELAY/stream/&.ts|" > "$WORK/ch-relay.urls"
  sed "s|$RELAY|$RELAY_NOSHARE|" "$WORK/ch-relay.urls" > "$WORK/ch-noshare.urls"
  for i in $(seq "$CHANNELS"); do echo "http://$NGINX/live$i.ts"; done > "$WORK/ch-nginx.urls"
  for i in $(seq "$CHANNELS"); do echo "http://$HAPROXY/live$i.ts"; done > "$WORK/ch-haproxy.urls"
  live_run ch-nginx "@$WORK/ch-nginx.urls" "$NGINX_PID" "$CHANNELS"
  live_run ch-haproxy "@$WORK/ch-haproxy.urls" "$HAPROXY_PID" "$CHANNELS"
  live_run ch-relay "@$WORK/ch-relay.urls" "$RELAY_PID" "$CHANNELS"
  live_run ch-noshare "@$WORK/ch-noshare.urls" "$RELAY_NOSHARE_PID" "$CHANNELS"
}
channels_table() {
  echo "$CHANNELS channels x one viewer x $((RATE / 1000000)) Mbit/s x ${SECS}s ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
  echo
  echo "| | nginx (64k) | haproxy tcp+splice | relay | relay, not shared |"
  echo "|---|---|---|---|---|"
  echo "| viewers with >= 98% of bytes | ${SERVED[ch-nginx]} | ${SERVED[ch-haproxy]} | ${SERVED[ch-relay]} | ${SERVED[ch-noshare]} |"
  echo "| proxy RSS per viewer, KiB | ${RSSV[ch-nginx]} | ${RSSV[ch-haproxy]} | ${RSSV[ch-relay]} | ${RSSV[ch-noshare]} |"
  echo "| proxy CPU s/GB | ${CPUV[ch-nginx]} | ${CPUV[ch-haproxy]} | ${CPUV[ch-relay]} | ${CPUV[ch-noshare]} |"
  echo "| time to first byte p99, s | ${TTFB[ch-nginx]} | ${TTFB[ch-haproxy]} | ${TTFB[ch-relay]} | ${TTFB[ch-noshare]} |"
}
# wrk on the playlist and on its first segment, nginx and relay; sets WRK[...].
declare -A WRK
playlists_run() {
  local api hls seg
  api=$(exec 3<>"/dev/tcp/${RELAY%:*}/${RELAY#*:}"; printf 'GET /api/channels HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$RELAY" >&3; cat <&3)
  hls=$(echo "$api" | grep -o '"id":"[0-9a-f]*","name":"HLS"' | cut -d'"' -f4)
  curl -s -o "$WORK/relay-live.m3u8" "http://$RELAY/stream/$hls.m3u8"
  seg=$(grep -m1 '/r/' "$WORK/relay-live.m3u8")
  wrk_one() { wrk -t2 -c64 -d"${SECS}s" --latency "$2" > "$WORK/wrk-$1.out" 2>&1
    WRK[$1]="$(awk '/Requests\/sec/ {printf "%.0f", $2}' "$WORK/wrk-$1.out") req/s, p99 $(awk '$1 == "99%" {print $2}' "$WORK/wrk-$1.out")"
    WRKN[$1]=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk-$1.out")
    echo "wrk $1: ${WRK[$1]}" >&2; }
  declare -gA WRKN
  wrk_one pl-nginx "http://$NGINX_FILES/hls/live.m3u8"
  wrk_one pl-relay "http://$RELAY/stream/$hls.m3u8"
  wrk_one seg-nginx "http://$NGINX_FILES/hls/seg/1000.ts?token=abcdef0123456789abcdef&expires=1733300000"
  wrk_one seg-relay "$seg"
}
playlists_table() {
  echo "HLS through nginx and the relay, wrk -c 64 for ${SECS}s ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
  echo
  echo "| | nginx (64k) | relay | relay / nginx |"
  echo "|---|---|---|---|"
  echo "| 600-segment live playlist | ${WRK[pl-nginx]} | ${WRK[pl-relay]} | $(ratio "${WRKN[pl-relay]}" "${WRKN[pl-nginx]}") |"
  echo "| one 188 KB segment | ${WRK[seg-nginx]} | ${WRK[seg-relay]} | $(ratio "${WRKN[seg-relay]}" "${WRKN[seg-nginx]}") |"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
if [ "$ONLY" = playlists ]; then
  playlists_run
  echo
  playlists_table
  exit 0
fi
if [ "$ONLY" = channels ]; then
  channels_run
  echo
  channels_table
  exit 0
fi
if [ "$ONLY" = downloads ]; then
  downloads
  echo
  download_line
  exit 0
fi

declare -A URL_FILE=(
  [direct]="http://$ORIGIN/file.mp4" [nginx]="http://$NGINX/file.mp4"
  [haproxy]="http://$HAPROXY/file.mp4" [relay]="http://$RELAY/stream/$FILE_ID.mp4")
declare -A PID_OF=([direct]="$ORIGIN_PID" [nginx]="$NGINX_PID" [haproxy]="$HAPROXY_PID"
  [relay]="$RELAY_PID" [relay-noshare]="$RELAY_NOSHARE_PID")
declare -A GBPS CPU
for t in direct nginx haproxy relay; do
  rates=(); cpus=()
  for _ in $(seq "$RUNS"); do
    before=$(ticks "${PID_OF[$t]}")
    read -r bytes secs gbps < <("$BIN/relay-load" get "${URL_FILE[$t]}")
    after=$(ticks "${PID_OF[$t]}")
    rates+=("$gbps")
    cpus+=("$(awk -v d=$((after - before)) -v hz="$HZ" -v b="$bytes" 'BEGIN {printf "%.3f", d / hz / (b / 1e9)}')")
  done
  GBPS[$t]=$(printf '%s\n' "${rates[@]}" | median)
  CPU[$t]=$(printf '%s\n' "${cpus[@]}" | median)
  echo "single stream $t: ${rates[*]} GB/s, CPU s/GB ${cpus[*]}" >&2
done

live_run direct "http://$ORIGIN/live.ts" "$ORIGIN_PID"
live_run nginx "http://$NGINX/live.ts" "$NGINX_PID"
live_run haproxy "http://$HAPROXY/live.ts" "$HAPROXY_PID"
live_run relay "http://$RELAY/stream/$LIVE_ID.ts" "$RELAY_PID"
live_run relay-noshare "http://$RELAY_NOSHARE/stream/$LIVE_ID.ts" "$RELAY_NOSHARE_PID"

echo
echo "load benchmark: $(nproc) cores, $(date -u +%F), file ${FILE_MB} MiB, runs $RUNS, $VIEWERS viewers x $((RATE / 1000000)) Mbit/s x ${SECS}s"
echo
echo "| | direct | nginx (64k) | haproxy tcp+splice | relay | relay, not shared |"
echo "|---|---|---|---|---|---|"
echo "| single stream GB/s (median) | ${GBPS[direct]} | ${GBPS[nginx]} | ${GBPS[haproxy]} | ${GBPS[relay]} | |"
echo "| ... ratio to direct | 1.00 | $(ratio "${GBPS[nginx]}" "${GBPS[direct]}") | $(ratio "${GBPS[haproxy]}" "${GBPS[direct]}") | $(ratio "${GBPS[relay]}" "${GBPS[direct]}") | |"
echo "| proxy CPU s/GB (median) | (origin ${CPU[direct]}) | ${CPU[nginx]} | ${CPU[haproxy]} | ${CPU[relay]} | |"
echo "| viewers with >= 98% of bytes | ${SERVED[direct]} | ${SERVED[nginx]} | ${SERVED[haproxy]} | ${SERVED[relay]} | ${SERVED[relay-noshare]} |"
echo "| proxy RSS per viewer, KiB | (origin ${RSSV[direct]}) | ${RSSV[nginx]} | ${RSSV[haproxy]} | ${RSSV[relay]} | ${RSSV[relay-noshare]} |"
echo "| proxy CPU s/GB, $VIEWERS viewers | (origin ${CPUV[direct]}) | ${CPUV[nginx]} | ${CPUV[haproxy]} | ${CPUV[relay]} | ${CPUV[relay-noshare]} |"
echo "| upstream connections for $VIEWERS viewers | ${UPS[direct]} | ${UPS[nginx]} | ${UPS[haproxy]} | ${UPS[relay]} | ${UPS[relay-noshare]} |"
echo "| idle RSS, relay | | | | $((IDLE_RSS / 1024)).$(( (IDLE_RSS % 1024) * 10 / 1024 )) MiB | |"
echo
echo "relay vs haproxy (GB/s): $(ratio "${GBPS[relay]}" "${GBPS[haproxy]}"), relay vs nginx: $(ratio "${GBPS[relay]}" "${GBPS[nginx]}")"
downloads
download_line
channels_run
echo
channels_table
playlists_run
echo
playlists_table
