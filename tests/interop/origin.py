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

Every request is logged to stderr as one line:
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
            if shift == 0:
                continue
            pcr = _pcr_offset(buf, i, has_af)
            if pcr is not None:
                base = (buf[pcr] << 25 | buf[pcr + 1] << 17 | buf[pcr + 2] << 9
                        | buf[pcr + 3] << 1 | buf[pcr + 4] >> 7)
                base = (base + shift) % PTS_WRAP
                buf[pcr] = (base >> 25) & 0xFF
                buf[pcr + 1] = (base >> 17) & 0xFF
                buf[pcr + 2] = (base >> 9) & 0xFF
                buf[pcr + 3] = (base >> 1) & 0xFF
                buf[pcr + 4] = ((base & 1) << 7) | (buf[pcr + 4] & 0x7F)
            if payload is not None and pusi:
                for off in _pes_timestamps(buf, payload):
                    _write_ts(buf, off, _read_ts(buf, off) + shift)
        out += buf
    return bytes(out), duration / 90000.0


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


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--media", required=True, help="dir with live.ts, movie.mp4, movie-moov-at-end.mp4")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--live-speed", type=float, default=8.0)
    ap.add_argument("--live-loops", type=int, default=2)
    ap.add_argument("--dump-live", metavar="FILE",
                    help="write the /live.ts body (default loops) to FILE and exit")
    args = ap.parse_args()
    media = Media(args.media, args.live_speed, args.live_loops)
    if args.dump_live:
        with open(args.dump_live, "wb") as f:
            f.write(media.live(args.live_loops)[0])
        return
    media.live(args.live_loops)  # build before serving: the first request is not delayed
    Handler.media = media
    server = Server(("127.0.0.1", args.port), Handler)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    sys.stderr.write(f"origin: serving {args.media} on http://127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
