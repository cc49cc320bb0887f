#!/usr/bin/env python3
"""Serves relay's web page (relay-core/src/web) in front of a relay, for tests/interop/web.sh
while the relay does not serve `/` itself (python3 standard library only).

On 127.0.0.1 and a free port (printed on stdout and written to --port-file):

  /                    PAGE/index.html with <meta name="relay-assets"> set to /assets/
  /web/NAME            PAGE/NAME (app.js, style.css)
  /assets/NAME         ASSETS/NAME (hls.min.js, mpegts.js)
  /bare/...            the same page mounted under a path prefix with no player scripts (the
                       meta left empty): the links-only mode, and relative URLs under a prefix
  /guide/...           the same page with a stand-in for the guide the relay does not have yet:
                       /guide/api/channels gives the relay's channels each with `now` and `next`
                       programmes, /guide/api/events?q= made-up programmes of those channels
                       whose title contains q (for the page's rendering of them only)
  /test/logo.svg       a small SVG, for a channel logo the test catalog points at
  anything else        proxied to --relay (GET and HEAD): /api/*, /health, /stream/*, /r/*, ...
                       bodies streamed as they come (a live TS stream is close-delimited)

Every request is logged to stderr as one line: `webserve: METHOD PATH status=S`.
"""

import argparse
import http.client
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
       "proxy-connection", "proxy-authenticate", "proxy-authorization", "host"}
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 160 90">'
        b'<rect width="160" height="90" fill="#2a6"/><text x="80" y="58" font-size="36" '
        b'text-anchor="middle" fill="#fff" font-family="sans-serif">LIVE</text></svg>')
ASSETS_META = '<meta name="relay-assets" content="">'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "webserve"
    status_sent = 0

    def log_message(self, fmt, *args):
        pass

    def start(self, status, headers):
        self.status_sent = status
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()

    def send_bytes(self, status, body, ctype):
        self.start(status, [("Content-Type", ctype), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-cache")])
        if self.command != "HEAD":
            self.wfile.write(body)

    def file(self, root, name):
        full = os.path.realpath(os.path.join(root, name))
        if not full.startswith(os.path.realpath(root) + os.sep) or not os.path.isfile(full):
            return self.send_bytes(404, b"no such file\n", "text/plain")
        with open(full, "rb") as f:
            body = f.read()
        self.send_bytes(200, body, TYPES.get(os.path.splitext(full)[1], "application/octet-stream"))

    def page(self, assets):
        with open(os.path.join(self.server.page_dir, "index.html"), encoding="utf-8") as f:
            html = f.read()
        if ASSETS_META not in html:
            return self.send_bytes(500, b"index.html has no empty relay-assets meta\n", "text/plain")
        html = html.replace(ASSETS_META, f'<meta name="relay-assets" content="{assets}">')
        self.send_bytes(200, html.encode(), TYPES[".html"])

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            path = urlsplit(self.path).path
            bare = path.startswith("/bare/")
            guide = path.startswith("/guide/")
            local = path[len("/bare"):] if bare else path[len("/guide"):] if guide else path
            if guide and local in ("/api/channels", "/api/events"):
                self.guide(local, urlsplit(self.path).query)
            elif local == "/":
                self.page("" if bare else "/assets/")
            elif local.startswith("/web/"):
                self.file(self.server.page_dir, local[len("/web/"):])
            elif local.startswith("/assets/") and not bare:
                self.file(self.server.assets_dir, local[len("/assets/"):])
            elif path == "/test/logo.svg":
                self.send_bytes(200, LOGO, TYPES[".svg"])
            else:
                self.proxy(local + (("?" + urlsplit(self.path).query) if urlsplit(self.path).query else ""))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            sys.stderr.write(f"webserve: {self.command} {self.path} status={self.status_sent}\n")
            sys.stderr.flush()

    def guide(self, local, query):
        """The stand-in guide (see the module doc), built on the relay's channel list."""
        up = http.client.HTTPConnection(self.server.relay_host, self.server.relay_port, timeout=60)
        try:
            up.request("GET", "/api/channels" + ("?" + query if local == "/api/channels" and query else ""))
            body = json.loads(up.getresponse().read())
        finally:
            up.close()
        now = int(time.time())
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        if local == "/api/channels":
            for i, c in enumerate(body["channels"]):
                c["now"] = {"title": f"News at {i}", "start": iso(now - 600), "stop": iso(now + 1200)}
                c["next"] = {"title": f"Film {i}", "start": iso(now + 1200), "stop": iso(now + 4800)}
            out = body
        else:
            q = parse_qs(query).get("q", [""])[0].lower()
            events = []
            for i, c in enumerate(body["channels"]):
                for title, start, stop in ((f"News at {i}", now - 600, now + 1200),
                                           (f"Film {i}", now + 1200, now + 4800)):
                    if q in title.lower():
                        events.append({"channel": c["id"], "name": c["name"], "logo": c["logo"],
                                       "url": c["url"], "title": title, "start": start, "stop": stop,
                                       "category": "Film" if title.startswith("Film") else "News"})
            out = {"count": len(events), "events": events}
        self.send_bytes(200, json.dumps(out).encode(), "application/json")

    def proxy(self, target):
        up = http.client.HTTPConnection(self.server.relay_host, self.server.relay_port, timeout=60)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
            up.request(self.command, target, headers=headers)
            resp = up.getresponse()
            out = [(k, v) for k, v in resp.getheaders() if k.lower() not in HOP]
            length = resp.getheader("Content-Length")
            if length is None:
                # close-delimited towards the browser: a live stream has no end to announce
                self.close_connection = True
                out.append(("Connection", "close"))
            self.start(resp.status, out)
            if self.command == "HEAD":
                return
            while True:
                chunk = resp.read1(64 * 1024)
                if not chunk:
                    break
                self.wfile.write(chunk)
                self.wfile.flush()
        finally:
            up.close()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError, ConnectionAbortedError)):
            return
        super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", required=True, help="the page's directory (relay-core/src/web)")
    ap.add_argument("--assets", required=True, help="directory with hls.min.js and mpegts.js")
    ap.add_argument("--relay", required=True, help="the relay's base URL, http://HOST:PORT")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    args = ap.parse_args()
    relay = urlsplit(args.relay)
    server = Server(("127.0.0.1", args.port), Handler)
    server.page_dir = args.page
    server.assets_dir = args.assets
    server.relay_host = relay.hostname
    server.relay_port = relay.port or 80
    port = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(f"{port}\n")
        os.replace(args.port_file + ".tmp", args.port_file)
    print(port, flush=True)
    sys.stderr.write(f"webserve: page {args.page} before {args.relay} on http://127.0.0.1:{port}\n")
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
