#!/usr/bin/env python3
"""Test origin for the relay's interop tests (python3 standard library only).

Serves, on 127.0.0.1 and a free port (printed on stdout and written to --port-file):

  /live.ts                 the MPEG-TS file streamed like a live channel: paced at --live-speed
                           times real time, no Content-Length (close-delimited), looped
                           --live-loops times, then the connection is closed. Each loop has its
                           PTS/DTS/PCR shifted and continuity counters continued, so the whole
                           stream is one seamless, valid TS (as a real looping channel would be).
                           Query overrides: ?loops=N&speed=X.
  /gated.ts                the same live stream, but 403 unless the request carries
                           User-Agent: InteropAgent/1.0 and Referer: http://referer.example/
  /cookie.ts               the same live stream, but 403 unless the request carries a Cookie
                           header with session=interop (for #EXTHTTP:{"Cookie":...} channels)
  /movie.mp4               the faststart MP4 (moov first)            } full single-range support:
  /movie-moov-at-end.mp4   the MP4 with moov after mdat              } a-b, a-, -n; 206/416; HEAD
  /redirect/movie.mp4      302 to /movie.mp4 (relative Location)
  /missing.ts              404
  /stall.ts                sends nothing for ?sleep=S seconds (default 20), then a live stream
                           (for the relay's upstream response timeout: 504)
  /stall-body.ts           200 and 100 TS packets, then silence for ?sleep=S seconds (for the
                           relay's upstream idle timeout: the client must see a cut)
  /truncated.mp4           Content-Length of the whole MP4 but only the first half, then close
  anything else            404

With --hls DIR (a directory of ffmpeg-made HLS, see hls.sh), also:

  /hls/PATH                the file DIR/PATH (playlists, segments, keys, init maps), ranges as
                           above; a query string is ignored (the log shows it)
  /alias/PATH              the same files under another path (a cross-path absolute URI)
  /redir/master.m3u8       302 to /hls/master/mixed.m3u8 (relative Location)
  /hls/master/mixed.m3u8   DIR/master/master.m3u8 with its first variant asked with a query
                           string (?token=x) and its audio rendition as an absolute URL under
                           /alias/ (host from the request's Host header); the rest relative
  /hls/live/index.m3u8     a live sliding window over DIR/live/seg*.ts: --live-window segments,
                           no ENDLIST, EXT-X-MEDIA-SEQUENCE advancing with the wall clock every
                           segment duration; segment N is /hls/live/sN.ts
  /hls/live/sN.ts          segment N % count of DIR/live, its timestamps shifted by N // count
                           loops and its continuity counters continued, so the looping stream
                           is seamless
  /player.html             a page playing ?src=URL with hls.js (from --hlsjs DIR, served at
                           /hlsjs/) in a muted <video>; it POSTs one JSON report to
                           /report?id=ID when it has played ?until= seconds (default 3; from
                           the first currentTime seen, as a live stream starts at its edge) or
                           on a fatal hls.js error, stored as --report-dir/ID.json

Every request is logged to stderr as one line (PATH with its query string):
  origin: METHOD PATH status=S bytes=N range=R ua=UA referer=REF cookie=C
"""

import argparse
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TS_PACKET = 188
GATE_UA = "InteropAgent/1.0"
GATE_REFERER = "http://referer.example/"
GATE_COOKIE = "session=interop"
PTS_WRAP = 1 << 33


def _read_ts(buf, off):
    """A 33-bit PES timestamp at buf[off:off+5]."""
    return (
        ((buf[off] >> 1) & 0x07) << 30
        | buf[off + 1] << 22
        | (buf[off + 2] >> 1) << 15
        | buf[off + 3] << 7
        | buf[off + 4] >> 1
    )


def _write_ts(buf, off, ts):
    ts %= PTS_WRAP
    buf[off] = (buf[off] & 0xF0) | (((ts >> 30) & 0x07) << 1) | 1
    buf[off + 1] = (ts >> 22) & 0xFF
    buf[off + 2] = (((ts >> 15) & 0x7F) << 1) | 1
    buf[off + 3] = (ts >> 7) & 0xFF
    buf[off + 4] = ((ts & 0x7F) << 1) | 1


def _packets(data):
    """(offset, pid, payload offset or None, pusi, has adaptation field) per TS packet."""
    for i in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[i] != 0x47:
            raise ValueError(f"TS sync byte missing at offset {i}")
        pid = ((data[i + 1] & 0x1F) << 8) | data[i + 2]
        pusi = bool(data[i + 1] & 0x40)
        afc = (data[i + 3] >> 4) & 3
        p = i + 4
        if afc & 2:
            p += 1 + data[i + 4]
        payload = p if (afc & 1) and p < i + TS_PACKET else None
        yield i, pid, payload, pusi, bool(afc & 2)


def _pes_timestamps(data, payload):
    """Offsets of PTS and DTS fields in a PES header starting at `payload`, if any."""
    if data[payload:payload + 3] != b"\x00\x00\x01" or payload + 14 > len(data):
        return []
    stream_id = data[payload + 3]
    if stream_id in (0xBC, 0xBE, 0xBF, 0xF0, 0xF1, 0xF2, 0xF8, 0xFF):
        return []
    flags = data[payload + 7] >> 6
    out = []
    if flags & 2:
        out.append(payload + 9)
    if flags == 3 and payload + 19 <= len(data):
        out.append(payload + 14)
    return out


def _pcr_offset(data, i, has_af):
    if has_af and data[i + 4] >= 7 and data[i + 5] & 0x10:
        return i + 6
    return None


def loop_duration(data):
    """Length of one pass of the file in 90 kHz ticks: from the earliest DTS to the end of the
    last access unit (last DTS plus the largest DTS step seen on that PID)."""
    first = None
    end = 0
    last = {}
    step = {}
    for i, pid, payload, pusi, _ in _packets(data):
        if payload is None or not pusi:
            continue
        offs = _pes_timestamps(data, payload)
        if not offs:
            continue
        dts = _read_ts(data, offs[-1])
        first = dts if first is None else min(first, dts)
        if pid in last and dts > last[pid]:
            step[pid] = max(step.get(pid, 0), dts - last[pid])
        last[pid] = dts
    if first is None:
        raise ValueError("no PES timestamps in the TS file")
    for pid, dts in last.items():
        end = max(end, dts + step.get(pid, 0))
    return end - first


def build_live(data, loops):
    """`loops` passes of the TS, timestamps shifted per pass and continuity counters continued."""
    duration = loop_duration(data)
    out = bytearray()
    cc = {}
    for k in range(loops):
        buf = bytearray(data)
        shift = k * duration
        for i, pid, payload, pusi, has_af in _packets(buf):
            if (buf[i + 3] >> 4) & 1:
                c = (cc.get(pid, -1) + 1) & 0x0F
                cc[pid] = c
                buf[i + 3] = (buf[i + 3] & 0xF0) | c
            if shift:
                _shift_times(buf, i, payload, pusi, has_af, shift)
        out += buf
    return bytes(out), duration / 90000.0


def shift_ts(data, ticks, cc_add):
    """The TS `data` with every PTS/DTS/PCR moved `ticks` (90 kHz) later and each PID's
    continuity counter advanced by cc_add[pid]."""
    buf = bytearray(data)
    for i, pid, payload, pusi, has_af in _packets(buf):
        if (buf[i + 3] >> 4) & 1:
            buf[i + 3] = (buf[i + 3] & 0xF0) | ((buf[i + 3] + cc_add.get(pid, 0)) & 0x0F)
        if ticks:
            _shift_times(buf, i, payload, pusi, has_af, ticks)
    return bytes(buf)


def _shift_times(buf, i, payload, pusi, has_af, ticks):
    """Moves the PCR of the packet at `i` and the PTS/DTS of a PES it starts `ticks` later."""
    pcr = _pcr_offset(buf, i, has_af)
    if pcr is not None:
        base = (buf[pcr] << 25 | buf[pcr + 1] << 17 | buf[pcr + 2] << 9
                | buf[pcr + 3] << 1 | buf[pcr + 4] >> 7)
        base = (base + ticks) % PTS_WRAP
        buf[pcr] = (base >> 25) & 0xFF
        buf[pcr + 1] = (base >> 17) & 0xFF
        buf[pcr + 2] = (base >> 9) & 0xFF
        buf[pcr + 3] = (base >> 1) & 0xFF
        buf[pcr + 4] = ((base & 1) << 7) | (buf[pcr + 4] & 0x7F)
    if payload is not None and pusi:
        for off in _pes_timestamps(buf, payload):
            _write_ts(buf, off, _read_ts(buf, off) + ticks)


class LiveHls:
    """A live sliding window walking over pre-made TS segments, looping seamlessly."""

    def __init__(self, live_dir, window):
        names = []
        self.durations = []
        with open(os.path.join(live_dir, "index.m3u8")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("#EXT-X-TARGETDURATION:"):
                    self.target = int(line.split(":", 1)[1])
                elif line.startswith("#EXTINF:"):
                    self.durations.append(float(line[8:].split(",")[0]))
                elif line and not line.startswith("#"):
                    names.append(line)
        if not names:
            raise SystemExit(f"no segments in {live_dir}/index.m3u8")
        self.segments = []
        for n in names:
            with open(os.path.join(live_dir, n), "rb") as f:
                self.segments.append(f.read())
        whole = b"".join(self.segments)
        self.loop_ticks = loop_duration(whole)
        # per loop, each PID's counter advances by its number of payload packets
        count = {}
        for i, pid, _, _, _ in _packets(whole):
            if (whole[i + 3] >> 4) & 1:
                count[pid] = count.get(pid, 0) + 1
        self.cc_per_loop = count
        self.window = window
        # the stream "started" a window ago, so a full window is there from the first request
        self.t0 = time.time() - window * self.target
        self._cache = {}
        self._lock = threading.Lock()

    def last(self):
        """The newest segment number: the one that finished most recently by the wall clock."""
        return int((time.time() - self.t0) / self.target) - 1

    def playlist(self):
        last = self.last()
        first = max(0, last - self.window + 1)
        n = len(self.segments)
        out = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{self.target}",
               f"#EXT-X-MEDIA-SEQUENCE:{first}"]
        for k in range(first, last + 1):
            out.append(f"#EXTINF:{self.durations[k % n]:.6f},")
            out.append(f"s{k}.ts")
        return ("\n".join(out) + "\n").encode()

    def segment(self, k):
        if k < 0 or k > self.last():
            return None
        with self._lock:
            if k not in self._cache:
                n = len(self.segments)
                loop = k // n
                cc = {pid: loop * c for pid, c in self.cc_per_loop.items()}
                if len(self._cache) > 32:
                    self._cache.clear()
                self._cache[k] = shift_ts(self.segments[k % n], loop * self.loop_ticks, cc)
            return self._cache[k]


def mixed_master(text, host):
    """ffmpeg's master playlist with the first variant asked with ?token=x and the audio
    rendition as an absolute URL under /alias/ (a cross-path absolute URI)."""
    out = []
    first_variant = True
    after_inf = False
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA:") and 'URI="' in line:
            line = re.sub(r'URI="([^"]*)"',
                          lambda m: f'URI="http://{host}/alias/master/{m.group(1)}"', line)
        elif line.startswith("#EXT-X-STREAM-INF"):
            after_inf = True
        elif line and not line.startswith("#") and after_inf:
            after_inf = False
            if first_variant:
                line += "?token=x"
                first_variant = False
        out.append(line)
    return ("\n".join(out) + "\n").encode()


PLAYER_HTML = """<!doctype html>
<html><head><meta charset="utf-8"><title>hls.js interop</title></head>
<body><video id="v" muted autoplay playsinline></video>
<script src="/hlsjs/hls.min.js"></script>
<script>
const q = new URLSearchParams(location.search);
const src = q.get("src"), id = q.get("id"), until = parseFloat(q.get("until") || "3");
const v = document.getElementById("v");
const errors = [];
let sent = false, hls = null, start = null;
function report(o) {
  if (sent) return;
  sent = true;
  o.id = id; o.src = src; o.currentTime = v.currentTime; o.readyState = v.readyState;
  o.start = start; o.played = start === null ? 0 : v.currentTime - start;
  o.videoWidth = v.videoWidth; o.videoHeight = v.videoHeight; o.errors = errors;
  o.audioBytes = v.webkitAudioDecodedByteCount; o.videoBytes = v.webkitVideoDecodedByteCount;
  const qual = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  o.frames = qual ? qual.totalVideoFrames : null;
  if (hls) { o.levels = hls.levels.length; o.audioTracks = hls.audioTracks.length; }
  o.hlsjs = window.Hls ? Hls.version : null;
  fetch("/report?id=" + encodeURIComponent(id), {method: "POST", body: JSON.stringify(o)});
}
window.addEventListener("error", e => report({ok: false, error: "page error: " + e.message}));
if (!window.Hls) {
  report({ok: false, error: "hls.js did not load"});
} else if (!Hls.isSupported()) {
  report({ok: false, error: "Hls.isSupported() is false (no MediaSource?)"});
} else {
  hls = new Hls();
  hls.on(Hls.Events.ERROR, (e, d) => {
    const what = d.type + "/" + d.details + (d.response ? " HTTP " + d.response.code : "")
      + (d.reason ? " " + d.reason : "") + (d.error ? " " + d.error : "");
    errors.push(what + (d.fatal ? " (fatal)" : ""));
    if (d.fatal) report({ok: false, error: what});
  });
  hls.on(Hls.Events.MANIFEST_PARSED, () => {
    v.play().catch(err => errors.push("play(): " + err));
  });
  // a live stream starts at its live edge, not at 0: count the time played since the first update
  v.addEventListener("timeupdate", () => {
    if (start === null) start = v.currentTime;
    if (v.currentTime - start >= until) report({ok: true});
  });
  v.addEventListener("error", () => report({ok: false, error: "video error " +
    (v.error ? v.error.code + " " + v.error.message : "?")}));
  hls.loadSource(src);
  hls.attachMedia(v);
}
</script></body></html>
"""


class Media:
    def __init__(self, media_dir, live_speed, live_loops):
        self.dir = media_dir
        self.live_speed = live_speed
        self.live_loops = live_loops
        with open(os.path.join(media_dir, "live.ts"), "rb") as f:
            self.ts = f.read()
        if len(self.ts) % TS_PACKET:
            raise SystemExit("live.ts is not 188-byte aligned")
        self.files = {}
        for name in ("movie.mp4", "movie-moov-at-end.mp4"):
            with open(os.path.join(media_dir, name), "rb") as f:
                self.files["/" + name] = f.read()
        self._live = {}
        self._lock = threading.Lock()

    def live(self, loops):
        with self._lock:
            if loops not in self._live:
                self._live[loops] = build_live(self.ts, loops)
            return self._live[loops]


def parse_range(header, size):
    """A single byte range: (first, last) inclusive, "unsatisfiable", or None (ignore the header
    and send the whole representation, as RFC 9110 allows for invalid or multiple ranges)."""
    if header is None:
        return None
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not m or (m.group(1) == "" and m.group(2) == ""):
        return None
    a, b = m.group(1), m.group(2)
    if a == "":
        n = int(b)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return (max(0, size - n), size - 1)
    first = int(a)
    last = int(b) if b != "" else size - 1
    if b != "" and last < first:
        return None
    if first >= size:
        return "unsatisfiable"
    return (first, min(last, size - 1))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "interop-origin/1.0"
    media = None  # set in main
    bytes_sent = 0
    status_sent = 0

    def log_message(self, fmt, *args):  # silence the default access log
        pass

    def log_request_line(self):
        h = self.headers
        sys.stderr.write(
            "origin: %s %s status=%s bytes=%d range=%s ua=%s referer=%s cookie=%s\n"
            % (self.command, self.path, self.status_sent, self.bytes_sent, h.get("Range", "-"),
               h.get("User-Agent", "-"), h.get("Referer", "-"), h.get("Cookie", "-"))
        )
        sys.stderr.flush()

    def start(self, status, headers):
        self.status_sent = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send_text(self, status, text, extra=()):
        body = text.encode()
        self.start(status, [("Content-Type", "text/plain; charset=utf-8"),
                            ("Content-Length", str(len(body)))] + list(extra))
        if self.command != "HEAD":
            self.wfile.write(body)
            self.bytes_sent += len(body)

    def do_HEAD(self):
        self.handle_any()

    def do_GET(self):
        self.handle_any()

    def handle_any(self):
        self.bytes_sent = 0
        self.status_sent = 0
        try:
            self.route()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.close_connection = True
        finally:
            self.log_request_line()

    def route(self):
        url = urlsplit(self.path)
        path = url.path
        query = parse_qs(url.query)
        if self.server.hls_dir is not None:
            done = self.hls_route(path, query)
            if done:
                return
        if self.media is None:
            return self.send_text(404, f"no such file: {path}\n")
        if path == "/live.ts":
            return self.live(query)
        if path == "/gated.ts":
            ua = self.headers.get("User-Agent")
            ref = self.headers.get("Referer")
            if ua != GATE_UA or ref != GATE_REFERER:
                return self.send_text(403, f"forbidden: need User-Agent {GATE_UA} and Referer "
                                           f"{GATE_REFERER}, got {ua!r} and {ref!r}\n")
            return self.live(query)
        if path == "/cookie.ts":
            cookies = [c.strip() for c in self.headers.get("Cookie", "").split(";")]
            if GATE_COOKIE not in cookies:
                return self.send_text(403, f"forbidden: need Cookie {GATE_COOKIE}, got "
                                           f"{self.headers.get('Cookie')!r}\n")
            return self.live(query)
        if path == "/stall.ts":
            time.sleep(float(query.get("sleep", ["20"])[0]))
            return self.live(query)
        if path == "/stall-body.ts":
            self.close_connection = True
            self.start(200, [("Content-Type", "video/mp2t"), ("Connection", "close")])
            if self.command == "HEAD":
                return
            part = self.media.ts[:TS_PACKET * 100]
            self.wfile.write(part)
            self.wfile.flush()
            self.bytes_sent += len(part)
            time.sleep(float(query.get("sleep", ["20"])[0]))
            return
        if path == "/truncated.mp4":
            data = self.media.files["/movie.mp4"]
            self.close_connection = True
            self.start(200, [("Content-Type", "video/mp4"), ("Content-Length", str(len(data))),
                             ("Connection", "close")])
            if self.command == "HEAD":
                return
            half = data[:len(data) // 2]
            self.wfile.write(half)
            self.wfile.flush()
            self.bytes_sent += len(half)
            return
        if path in self.media.files:
            return self.file(self.media.files[path], "video/mp4")
        if path == "/redirect/movie.mp4":
            return self.send_text(302, "moved to /movie.mp4\n", [("Location", "/movie.mp4")])
        return self.send_text(404, f"no such file: {path}\n")

    def hls_route(self, path, query):
        """The HLS routes (see the module doc); False when `path` is not one of them."""
        hls_dir = self.server.hls_dir
        if path == "/redir/master.m3u8":
            self.send_text(302, "moved\n", [("Location", "/hls/master/mixed.m3u8")])
            return True
        if path == "/hls/master/mixed.m3u8":
            with open(os.path.join(hls_dir, "master", "master.m3u8")) as f:
                body = mixed_master(f.read(), self.headers.get("Host", "127.0.0.1"))
            self.file(body, "application/vnd.apple.mpegurl")
            return True
        if path == "/hls/live/index.m3u8":
            body = self.server.live_hls.playlist()
            self.start(200, [("Content-Type", "application/vnd.apple.mpegurl"),
                             ("Cache-Control", "no-cache"), ("Content-Length", str(len(body)))])
            if self.command != "HEAD":
                self.wfile.write(body)
                self.bytes_sent += len(body)
            return True
        m = re.fullmatch(r"/hls/live/s(\d+)\.ts", path)
        if m:
            data = self.server.live_hls.segment(int(m.group(1)))
            if data is None:
                self.send_text(404, "no such live segment (yet)\n")
            else:
                self.file(data, "video/mp2t")
            return True
        if path == "/player.html":
            self.file(PLAYER_HTML.encode(), "text/html; charset=utf-8")
            return True
        for prefix, root in (("/hls/", hls_dir), ("/alias/", hls_dir),
                             ("/hlsjs/", self.server.hlsjs_dir)):
            if path.startswith(prefix) and root is not None:
                rel = path[len(prefix):]
                full = os.path.realpath(os.path.join(root, rel))
                if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
                    self.send_text(404, f"no such file: {path}\n")
                    return True
                with open(full, "rb") as f:
                    data = f.read()
                self.file(data, HLS_TYPES.get(os.path.splitext(full)[1], "application/octet-stream"))
                return True
        return False

    def do_POST(self):
        self.bytes_sent = 0
        self.status_sent = 0
        try:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20))
            rid = parse_qs(url.query).get("id", [""])[0]
            if url.path != "/report" or not re.fullmatch(r"[A-Za-z0-9_.-]+", rid) \
                    or self.server.report_dir is None:
                return self.send_text(404, "no\n")
            tmp = os.path.join(self.server.report_dir, rid + ".tmp")
            with open(tmp, "wb") as f:
                f.write(body)
            os.replace(tmp, os.path.join(self.server.report_dir, rid + ".json"))
            self.send_text(200, "thanks\n")
        finally:
            self.log_request_line()

    def file(self, data, content_type):
        size = len(data)
        rng = parse_range(self.headers.get("Range"), size)
        common = [("Content-Type", content_type), ("Accept-Ranges", "bytes"),
                  ("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")]
        if rng == "unsatisfiable":
            return self.send_text(416, "range not satisfiable\n",
                                  [("Content-Range", f"bytes */{size}")])
        if rng is None:
            first, last, status, extra = 0, size - 1, 200, []
        else:
            first, last = rng
            status, extra = 206, [("Content-Range", f"bytes {first}-{last}/{size}")]
        length = last - first + 1 if size else 0
        self.start(status, common + extra + [("Content-Length", str(length))])
        if self.command == "HEAD":
            return
        view = memoryview(data)[first:first + length]
        for off in range(0, length, 64 * 1024):
            chunk = view[off:off + 64 * 1024]
            self.wfile.write(chunk)
            self.bytes_sent += len(chunk)

    def live(self, query):
        loops = int(query.get("loops", [self.media.live_loops])[0])
        speed = float(query.get("speed", [self.media.live_speed])[0])
        data, seconds = self.media.live(max(1, loops))
        self.close_connection = True
        self.start(200, [("Content-Type", "video/mp2t"), ("Cache-Control", "no-cache"),
                         ("Connection", "close")])
        if self.command == "HEAD":
            return
        rate = len(self.media.ts) / seconds * speed  # bytes per second
        chunk = TS_PACKET * 70  # ~13 KB
        start = time.monotonic()
        for off in range(0, len(data), chunk):
            due = start + off / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            part = data[off:off + chunk]
            self.wfile.write(part)
            self.wfile.flush()
            self.bytes_sent += len(part)


HLS_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".key": "application/octet-stream",
    ".js": "text/javascript",
    ".html": "text/html; charset=utf-8",
}


class Server(ThreadingHTTPServer):
    hls_dir = None
    hlsjs_dir = None
    report_dir = None
    live_hls = None
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # a client closing a kept-alive connection is not worth a traceback
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--media", help="dir with live.ts, movie.mp4, movie-moov-at-end.mp4 (the "
                    "routes above /hls/ answer 404 without it)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--live-speed", type=float, default=8.0)
    ap.add_argument("--live-loops", type=int, default=2)
    ap.add_argument("--hls", metavar="DIR", help="serve the HLS media in DIR (see above)")
    ap.add_argument("--live-window", type=int, default=4, help="segments in the live HLS window")
    ap.add_argument("--hlsjs", metavar="DIR", help="hls.js dist dir, served at /hlsjs/")
    ap.add_argument("--report-dir", metavar="DIR", help="where /report stores player reports")
    ap.add_argument("--dump-live", metavar="FILE",
                    help="write the /live.ts body (default loops) to FILE and exit")
    args = ap.parse_args()
    media = Media(args.media, args.live_speed, args.live_loops) if args.media else None
    if args.dump_live:
        with open(args.dump_live, "wb") as f:
            f.write(media.live(args.live_loops)[0])
        return
    if media is not None:
        media.live(args.live_loops)  # build before serving: the first request is not delayed
    Handler.media = media
    server = Server(("127.0.0.1", args.port), Handler)
    if args.hls:
        server.hls_dir = args.hls
        server.live_hls = LiveHls(os.path.join(args.hls, "live"), args.live_window)
    server.hlsjs_dir = args.hlsjs
    server.report_dir = args.report_dir
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    sys.stderr.write(f"origin: serving {args.media or args.hls} on http://127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
