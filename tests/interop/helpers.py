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
