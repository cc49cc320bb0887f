#!/usr/bin/env python3
"""Small helpers for tests/interop/run.sh (python3 standard library only).

Each check-* subcommand exits 0 when the check holds, else prints the reasons (one per line) and
exits 1. Other subcommands print values for the shell.
"""

import json
import re
import socket
import sys

ATTR_RE = re.compile(r'([A-Za-z0-9_.:-]+)="([^"]*)"')


def read_m3u(path):
    """A simple parser for well-formed playlists (the catalog this test writes, and the relay's
    output, which must be well-formed): header attrs, entries with attrs/name/url/option lines."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    lines = [l.rstrip("\r") for l in text.split("\n")]
    header = {}
    entries = []
    cur = None
    first = next((l for l in lines if l.strip()), "")
    for line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("#EXTM3U"):
            header.update(dict(ATTR_RE.findall(s)))
        elif s.startswith("#EXTINF:"):
            body = s[len("#EXTINF:"):]
            # the title follows the first comma outside quotes
            inq = False
            cut = None
            for i, ch in enumerate(body):
                if ch == '"':
                    inq = not inq
                elif ch == "," and not inq:
                    cut = i
                    break
            attrs_part, name = (body[:cut], body[cut + 1:]) if cut is not None else (body, "")
            cur = {"attrs": dict(ATTR_RE.findall(attrs_part)), "name": name.strip(),
                   "options": [], "url": None}
        elif s.startswith("#"):
            if cur is not None:
                cur["options"].append(s)
        else:
            if cur is None:
                cur = {"attrs": {}, "name": "", "options": []}
            cur["url"] = s
            entries.append(cur)
            cur = None
    return first, header, entries


def fail(reasons):
    for r in reasons:
        print(r)
    sys.exit(1 if reasons else 0)


def by_tvg_id(entries):
    return {e["attrs"].get("tvg-id"): e for e in entries}


def expected_ext(origin_url):
    path = origin_url.split("|")[0].split("?")[0]
    last = path.rsplit("/", 1)[-1]
    ext = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return "ts" if ext in ("ts", "") else ext


def cmd_check_attrs(catalog, playlist):
    _, cat_header, cat = read_m3u(catalog)
    first, header, out = read_m3u(playlist)
    reasons = []
    if not first.startswith("#EXTM3U"):
        reasons.append(f"first line is {first[:60]!r}, not #EXTM3U")
    for k, v in cat_header.items():
        if header.get(k) != v:
            reasons.append(f"#EXTM3U attribute {k}: want {v!r}, got {header.get(k)!r}")
    if len(out) != len(cat):
        reasons.append(f"{len(out)} entries in the playlist, {len(cat)} in the catalog")
    got = by_tvg_id(out)
    for e in cat:
        tid = e["attrs"]["tvg-id"]
        o = got.get(tid)
        if o is None:
            reasons.append(f"channel tvg-id={tid} ({e['name']}) missing from the playlist")
            continue
        if o["name"] != e["name"]:
            reasons.append(f"{tid}: name {o['name']!r}, want {e['name']!r}")
        for k, v in e["attrs"].items():
            if o["attrs"].get(k) != v:
                reasons.append(f"{tid}: attribute {k}={o['attrs'].get(k)!r}, want {v!r}")
    fail(reasons)


def cmd_check_urls(catalog, playlist, base):
    _, _, cat = read_m3u(catalog)
    _, _, out = read_m3u(playlist)
    reasons = []
    got = by_tvg_id(out)
    seen = {}
    pat = re.compile(re.escape(base) + r"/stream/([A-Za-z0-9_-]+)\.([a-z0-9]+)")
    for e in cat:
        tid = e["attrs"]["tvg-id"]
        o = got.get(tid)
        if o is None:
            reasons.append(f"{tid}: not in the playlist")
            continue
        m = pat.fullmatch(o["url"] or "")
        if not m:
            reasons.append(f"{tid}: URL {o['url']!r} is not {base}/stream/ID.EXT")
            continue
        want = expected_ext(e["url"])
        if m.group(2) != want:
            reasons.append(f"{tid}: URL {o['url']!r} has extension .{m.group(2)}, want .{want}")
        if m.group(1) in seen:
            reasons.append(f"{tid}: id {m.group(1)} also used by {seen[m.group(1)]}")
        seen[m.group(1)] = tid
    fail(reasons)


def cmd_check_leaks(playlist, *needles):
    with open(playlist, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    reasons = []
    for n in needles:
        if n in text:
            line = next(l for l in text.splitlines() if n in l)
            reasons.append(f"playlist contains {n!r}: {line.strip()[:160]!r}")
    for tag in ("#EXTVLCOPT", "#EXTHTTP", "#KODIPROP"):
        if tag in text:
            reasons.append(f"playlist still carries request options ({tag} lines)")
    _, _, out = read_m3u(playlist)
    for e in out:
        if e["url"] and "|" in e["url"]:
            reasons.append(f"URL with a |header suffix: {e['url']!r}")
    fail(reasons)


def cmd_map(playlist):
    """tvg-id URL per line."""
    _, _, out = read_m3u(playlist)
    for e in out:
        print(e["attrs"].get("tvg-id", "-"), e["url"])


def cmd_check_api(api_json, playlist, catalog):
    reasons = []
    try:
        with open(api_json, "rb") as f:
            data = json.load(f)
    except Exception as e:  # noqa: BLE001
        fail([f"/api/channels is not JSON: {e}"])
    _, _, cat = read_m3u(catalog)
    _, _, out = read_m3u(playlist)
    chans = data.get("channels")
    if not isinstance(chans, list):
        fail([f"no channels array in {str(data)[:200]}"])
    if data.get("count") != len(chans) or len(chans) != len(cat):
        reasons.append(f"count={data.get('count')}, {len(chans)} channels listed, "
                       f"{len(cat)} in the catalog")
    urls = {e["attrs"].get("tvg-id"): e["url"] for e in out}
    want = by_tvg_id(cat)
    for c in chans:
        missing = {"id", "name", "group", "tvg_id", "logo", "chno", "kind", "url"} - set(c)
        if missing:
            reasons.append(f"channel {c.get('id')} lacks fields {sorted(missing)}")
            continue
        e = want.get(c["tvg_id"])
        if e is None:
            reasons.append(f"unexpected channel tvg_id={c['tvg_id']!r}")
            continue
        if c["name"] != e["name"]:
            reasons.append(f"{c['tvg_id']}: name {c['name']!r}, want {e['name']!r}")
        if c["group"] != e["attrs"].get("group-title"):
            reasons.append(f"{c['tvg_id']}: group {c['group']!r}")
        if c["logo"] != e["attrs"].get("tvg-logo"):
            reasons.append(f"{c['tvg_id']}: logo {c['logo']!r}")
        if c["chno"] != e["attrs"].get("tvg-chno"):
            reasons.append(f"{c['tvg_id']}: chno {c['chno']!r}")
        kind = "file" if expected_ext(e["url"]) != "ts" else "ts"
        if c["kind"] != kind:
            reasons.append(f"{c['tvg_id']}: kind {c['kind']!r}, want {kind!r}")
        if c["url"] != urls.get(c["tvg_id"]):
            reasons.append(f"{c['tvg_id']}: url {c['url']!r} differs from the playlist's "
                           f"{urls.get(c['tvg_id'])!r}")
        if not c["url"].endswith("/stream/" + c["id"] + "." + expected_ext(e["url"])):
            reasons.append(f"{c['tvg_id']}: url {c['url']!r} does not end in /stream/{c['id']}.*")
    fail(reasons)


def cmd_check_api_filter(api_json, *want_tvg_ids):
    with open(api_json, "rb") as f:
        data = json.load(f)
    got = sorted(c.get("tvg_id") for c in data.get("channels", []))
    want = sorted(want_tvg_ids)
    reasons = []
    if got != want or data.get("count") != len(want):
        reasons.append(f"got count={data.get('count')} {got}, want {want}")
    fail(reasons)


def cmd_check_json_health(path, channels):
    with open(path, "rb") as f:
        data = json.load(f)
    reasons = []
    if data.get("status") != "ok":
        reasons.append(f"status {data.get('status')!r}")
    if data.get("channels") != int(channels):
        reasons.append(f"channels {data.get('channels')!r}, want {channels}")
    fail(reasons)


def cmd_raw(port, payload):
    """Sends raw bytes (Python escapes allowed, e.g. \\r\\n, \\x00), prints the status code of the
    answer (or 'closed' / 'timeout') and the first line of the body."""
    data = payload.encode("latin-1").decode("unicode_escape").encode("latin-1")
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=10)
    try:
        s.sendall(data)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            if b"\r\n\r\n" in buf:
                head, _, rest = buf.partition(b"\r\n\r\n")
                m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
                if m and len(rest) >= int(m.group(1)):
                    break
    except socket.timeout:
        print("timeout")
        return
    finally:
        s.close()
    if not buf:
        print("closed")
        return
    status = buf.split(b"\r\n", 1)[0].decode("latin-1")
    if not re.match(r"HTTP/\d\.\d \d{3}", status):
        print("no-status-line |", repr(buf[:120]))
        return
    body = buf.partition(b"\r\n\r\n")[2].decode("utf-8", "replace").strip().splitlines()
    print(status.split(" ")[1], "|", status, "|", body[0] if body else "")


def cmd_timing(url, out):
    """GETs url, writes the body to `out`, prints "STATUS FIRST_BODY_BYTE_S TOTAL_S BYTES" (times
    from sending the request; curl's time_starttransfer counts the head, not the body)."""
    import http.client
    import time
    from urllib.parse import urlsplit
    u = urlsplit(url)
    t0 = time.monotonic()
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
    conn.request("GET", u.path + ("?" + u.query if u.query else ""))
    r = conn.getresponse()
    first = None
    n = 0
    with open(out, "wb") as f:
        try:
            while True:
                chunk = r.read1(65536)
                if not chunk:
                    break
                if first is None:
                    first = time.monotonic() - t0
                f.write(chunk)
                n += len(chunk)
        except (OSError, http.client.HTTPException):
            pass
    total = time.monotonic() - t0
    print(r.status, "%.3f" % (first if first is not None else -1), "%.3f" % total, n)


def cmd_slice(path, first, last, out):
    with open(path, "rb") as f:
        data = f.read()
    with open(out, "wb") as f:
        f.write(data[int(first):int(last) + 1])


def cmd_mpv_pos(log):
    """The last time-pos mpv reported (from --term-status-msg='STATUS ${=time-pos}')."""
    with open(log, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    vals = re.findall(r"STATUS (-?[0-9.]+)", text)
    print(vals[-1] if vals else "none")


# ---------------------------------------------------------------- HLS

HLS_URI_ATTR = re.compile(r'(URI|SERVER-URI)="([^"]*)"')
# the kind of what a URI="..." attribute names, by the tag that carries it
HLS_TAG_KIND = {
    "#EXT-X-MEDIA": "playlist", "#EXT-X-I-FRAME-STREAM-INF": "playlist",
    "#EXT-X-IMAGE-STREAM-INF": "playlist", "#EXT-X-RENDITION-REPORT": "playlist",
    "#EXT-X-KEY": "key", "#EXT-X-SESSION-KEY": "key", "#EXT-X-MAP": "map",
    "#EXT-X-PART": "part", "#EXT-X-PRELOAD-HINT": "part", "#EXT-X-SESSION-DATA": "data",
    "#EXT-X-CONTENT-STEERING": "steering",
}


def hls_uris(text):
    """(kind, uri, start, end) for every URI of a playlist, in order: `URI="..."` attributes and
    URI lines (a playlist after #EXT-X-STREAM-INF, else a segment); start/end index `text`."""
    out = []
    pos = 0
    variant = False
    for line in text.splitlines(keepends=True):
        s = line.rstrip("\r\n")
        stripped = s.strip()
        if stripped.startswith("#"):
            tag = stripped.split(":", 1)[0]
            if tag == "#EXT-X-STREAM-INF":
                variant = True
            kind = HLS_TAG_KIND.get(tag)
            if kind:
                for m in HLS_URI_ATTR.finditer(s):
                    if m.group(2).startswith(("data:", "skd://")):
                        continue
                    out.append((kind, m.group(2), pos + m.start(2), pos + m.end(2)))
        elif stripped:
            lead = len(s) - len(s.lstrip())
            out.append(("playlist" if variant else "segment", stripped, pos + lead,
                        pos + lead + len(stripped)))
            variant = False
        pos += len(line)
    return out


def hls_skeleton(text, uris):
    """The playlist with every URI replaced by <URI>: what a lossless rewrite keeps."""
    out = []
    at = 0
    for _, _, a, b in uris:
        out.append(text[at:a])
        out.append("<URI>")
        at = b
    out.append(text[at:])
    return "".join(out)


def http_get(url, headers=None, follow=True):
    """(status, headers (lower-case names), body, final URL) of a GET; follows redirects."""
    import http.client
    from urllib.parse import urljoin, urlsplit
    for _ in range(8):
        u = urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=30)
        try:
            conn.request("GET", (u.path or "/") + ("?" + u.query if u.query else ""),
                         headers=dict({"User-Agent": "interop-walker/1.0"}, **(headers or {})))
            r = conn.getresponse()
            body = r.read()
            hdrs = {k.lower(): v for k, v in r.getheaders()}
        finally:
            conn.close()
        if follow and r.status in (301, 302, 303, 307, 308) and "location" in hdrs:
            url = urljoin(url, hdrs["location"])
            continue
        return r.status, hdrs, body, url
    raise RuntimeError(f"too many redirects from {url}")


def hls_ext(kind, origin_uri):
    from urllib.parse import urlsplit
    if kind == "playlist":
        return "m3u8"
    last = urlsplit(origin_uri).path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else None


class Walk:
    """A relayed HLS channel walked beside its origin: every playlist of the tree, in step."""

    def __init__(self, relay_base, origin_hostport, key_file):
        from urllib.parse import urlsplit
        self.relay_base = relay_base
        self.origin_hostport = origin_hostport
        self.key = open(key_file, "rb").read() if key_file else None
        self.reasons = []
        self.stats = {"playlists": 0, "uris": 0, "segment": 0, "key": 0, "map": 0}
        self.links = {}  # kind -> a relay URL of that kind
        self.link_re = re.compile(re.escape(relay_base) + r"/r/([A-Za-z0-9_-]+)\.([a-z0-9]+)")
        self.seen = set()
        self._split = urlsplit

    def fail(self, msg):
        self.reasons.append(msg)

    def pair(self, relay_url, origin_url, where):
        """Fetches the relayed playlist and the origin's; for a live window (the two may be a
        media sequence apart) tries again until both show the same window."""
        import time
        for attempt in range(6):
            st, h, body, _ = http_get(relay_url, follow=False)
            if st != 200:
                self.fail(f"{where}: GET {relay_url} -> {st}: {body[:200]!r}")
                return None
            ost, _, obody, ofinal = http_get(origin_url)
            if ost != 200:
                self.fail(f"{where}: origin GET {origin_url} -> {ost} (test origin broken?)")
                return None
            text = body.decode("utf-8", "replace")
            otext = obody.decode("utf-8", "replace")
            seq = re.findall(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text)
            oseq = re.findall(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", otext)
            if seq == oseq:
                return h, text, otext, ofinal
            time.sleep(0.5)
        self.fail(f"{where}: the relayed window stays at MEDIA-SEQUENCE {seq}, the origin's "
                  f"at {oseq}")
        return None

    def playlist(self, relay_url, origin_url, where):
        from urllib.parse import urljoin
        if relay_url in self.seen:
            return
        self.seen.add(relay_url)
        got = self.pair(relay_url, origin_url, where)
        if got is None:
            return
        h, text, otext, ofinal = got
        self.stats["playlists"] += 1
        ct = h.get("content-type", "")
        if ct.split(";")[0].strip().lower() != "application/vnd.apple.mpegurl":
            self.fail(f"{where}: Content-Type {ct!r}, want application/vnd.apple.mpegurl")
        if h.get("access-control-allow-origin") != "*":
            self.fail(f"{where}: Access-Control-Allow-Origin {h.get('access-control-allow-origin')!r}")
        if self.origin_hostport in text:
            line = next(l for l in text.splitlines() if self.origin_hostport in l)
            self.fail(f"{where}: names the origin {self.origin_hostport}: {line[:200]!r}")
        ru, ou = hls_uris(text), hls_uris(otext)
        if [k for k, *_ in ru] != [k for k, *_ in ou]:
            self.fail(f"{where}: URIs by kind {[k for k, *_ in ru]}, the origin's "
                      f"{[k for k, *_ in ou]} (a URI not rewritten, or one invented?)")
            return
        if hls_skeleton(text, ru) != hls_skeleton(otext, ou):
            import difflib
            d = difflib.unified_diff(hls_skeleton(otext, ou).splitlines(),
                                     hls_skeleton(text, ru).splitlines(), "origin", "relay",
                                     lineterm="", n=0)
            self.fail(f"{where}: bytes other than URIs changed: " + " | ".join(list(d)[2:8]))
        sampled = set()
        for (kind, r, _, _), (_, o, _, _) in zip(ru, ou):
            self.stats["uris"] += 1
            m = self.link_re.fullmatch(r)
            if not m:
                self.fail(f"{where}: {kind} URI {r!r} is not {self.relay_base}/r/TOKEN.EXT")
                continue
            want = hls_ext(kind, o)
            if want and m.group(2) != want:
                self.fail(f"{where}: {kind} URI {r!r} has .{m.group(2)}, the origin's {o!r} .{want}")
            self.links.setdefault(kind, r)
            absolute = urljoin(ofinal, o)
            if kind == "playlist":
                self.playlist(r, absolute, f"{where} > {o}")
            elif kind in ("key", "map") or (kind == "segment" and "segment" not in sampled):
                # every key and map, and the first segment of each media playlist
                sampled.add(kind)
                self.same_bytes(kind, r, absolute, f"{where} > {o}")

    def same_bytes(self, kind, relay_url, origin_url, where):
        st, h, body, _ = http_get(relay_url, follow=False)
        ost, _, obody, _ = http_get(origin_url)
        if st != 200:
            self.fail(f"{where}: GET {relay_url} -> {st}: {body[:200]!r}")
            return
        if ost != 200:
            self.fail(f"{where}: origin GET {origin_url} -> {ost} (test origin broken?)")
            return
        if body != obody:
            self.fail(f"{where}: {kind} through the relay ({len(body)} B) differs from the "
                      f"origin's ({len(obody)} B)")
        if kind == "key" and self.key is not None and body != self.key:
            self.fail(f"{where}: the key through the relay is not the key file")
        if h.get("access-control-allow-origin") != "*":
            self.fail(f"{where}: {kind}: Access-Control-Allow-Origin "
                      f"{h.get('access-control-allow-origin')!r}")
        self.stats[kind] = self.stats.get(kind, 0) + 1


def cmd_hls_walk(relay_url, origin_url, relay_base, origin_hostport, links_out, *opts):
    """Walks a relayed HLS channel beside its origin (see Walk): every relayed playlist is
    application/vnd.apple.mpegurl with CORS, names no origin host:port, has every URI as
    RELAY/r/TOKEN.EXT (EXT the origin's for media, m3u8 for playlists), the same URIs by kind as
    the origin's and the same bytes elsewhere; keys, maps and each media playlist's first
    segment equal the origin's bytes (and `--key FILE`'s). Prints the counts; writes one
    `KIND URL` line per kind seen to LINKS_OUT."""
    key = opts[opts.index("--key") + 1] if "--key" in opts else None
    w = Walk(relay_base, origin_hostport, key)
    try:
        w.playlist(relay_url, origin_url, "channel")
    except Exception as e:  # noqa: BLE001 - a failed request is a failed check
        w.fail(f"walk stopped: {type(e).__name__}: {e}")
    with open(links_out, "w") as f:
        for k, u in w.links.items():
            f.write(f"{k} {u}\n")
    s = w.stats
    if key and s.get("key", 0) == 0:
        w.fail("no key was found to compare (EXT-X-KEY URI not rewritten?)")
    print(" ".join(f"{k}={v}" for k, v in s.items()))
    if w.reasons:
        for r in w.reasons:
            print(r)
        sys.exit(1)


def cmd_hls_normalize(path):
    """The playlist with each relay token replaced by TOKEN (tokens differ per request)."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    sys.stdout.write(re.sub(r"/r/[A-Za-z0-9_-]+\.", "/r/TOKEN.", text))


def cmd_b64url(text):
    import base64
    print(base64.urlsafe_b64encode(text.encode()).decode().rstrip("="))


def cmd_tamper(url):
    """The relay URL with one character in the middle of its token changed."""
    m = re.search(r"/r/([A-Za-z0-9_-]+)\.", url)
    tok = m.group(1)
    i = len(tok) // 2
    c = "A" if tok[i] != "A" else "B"
    print(url[:m.start(1)] + tok[:i] + c + tok[i + 1:] + url[m.end(1):])


def cmd_report(path, *want):
    """Checks a player report from /player.html: ok, 3 s played, video frames and audio
    decoded; `audio-tracks=N` asks for at least N hls.js audio tracks. Prints a summary."""
    with open(path, "rb") as f:
        r = json.load(f)
    reasons = []
    print(f"hls.js {r.get('hlsjs')}: ok={r.get('ok')} played={r.get('played')} s from "
          f"t={r.get('start')} "
          f"{r.get('videoWidth')}x{r.get('videoHeight')} frames={r.get('frames')} "
          f"videoBytes={r.get('videoBytes')} audioBytes={r.get('audioBytes')} "
          f"levels={r.get('levels')} audioTracks={r.get('audioTracks')}")
    if not r.get("ok"):
        reasons.append(f"hls.js failed: {r.get('error')}")
    if (r.get("played") or 0) < 3:
        reasons.append(f"played {r.get('played')} s (currentTime {r.get('start')} -> "
                       f"{r.get('currentTime')}), want >= 3")
    if not r.get("videoWidth") or not r.get("frames"):
        reasons.append(f"no video decoded: {r.get('videoWidth')}x{r.get('videoHeight')}, "
                       f"frames {r.get('frames')}")
    if not r.get("audioBytes"):
        reasons.append(f"no audio decoded (webkitAudioDecodedByteCount {r.get('audioBytes')})")
    for w in want:
        k, v = w.split("=")
        if k == "audio-tracks" and (r.get("audioTracks") or 0) < int(v):
            reasons.append(f"hls.js sees {r.get('audioTracks')} audio tracks, want >= {v}")
    if r.get("errors"):
        print("non-fatal hls.js errors: " + "; ".join(r["errors"][:5]))
    if reasons:
        for x in reasons:
            print(x)
        sys.exit(1)


def cmd_free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1])
    s.close()


def main():
    cmds = {k[4:].replace("_", "-"): v for k, v in globals().items() if k.startswith("cmd_")}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(f"usage: helpers.py {{{','.join(sorted(cmds))}}} ARGS...")
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
