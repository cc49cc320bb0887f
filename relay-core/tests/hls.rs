//! HLS through the relay: playlists rewritten to signed links, every sub-resource fetched with the
//! channel's headers, shared between viewers, and nothing fetched that a client named.

mod common;

use common::*;
use relay_core::proto::hls::Kind;
use relay_core::token::{self, Token};
use std::sync::Arc;
use std::time::Duration;

fn arc(v: Vec<u8>) -> Arc<Vec<u8>> {
    Arc::new(v)
}

fn file(data: &[u8], content_type: &'static str) -> Behavior {
    Behavior::File {
        data: arc(data.to_vec()),
        content_type,
    }
}

fn playlist(text: &str) -> Behavior {
    file(text.as_bytes(), "application/vnd.apple.mpegurl")
}

/// The relay paths (`/r/...`) in a playlist, in order: URI lines and `URI="..."` values.
fn relay_links(text: &str, relay: &Relay) -> Vec<String> {
    let prefix = format!("http://{}", relay.addr);
    let mut out = Vec::new();
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = rest.find(&prefix) {
            let tail = &rest[at + prefix.len()..];
            let end = tail.find(['"', ',', ' ']).unwrap_or(tail.len());
            out.push(tail[..end].to_string());
            rest = &tail[end..];
        }
    }
    out
}

fn m3u_for(url: &str, extra: &str) -> String {
    format!("#EXTM3U\n#EXTINF:-1 group-title=\"HLS\",Live HLS\n{extra}{url}\n")
}

#[tokio::test]
async fn master_variants_and_segments_are_relayed_through_tokens() {
    let origin = Origin::start().await;
    let other = Origin::start().await;
    let seg_a = ts_packets(50);
    let seg_b = ts_packets(70);
    origin.route(
        "/live/master.m3u8",
        playlist(&format!(
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=800000\nlow/index.m3u8?sig=abc\n#EXT-X-STREAM-INF:BANDWIDTH=2000000\n{}\n",
            other.url("/high/index.m3u8")
        )),
    );
    origin.route(
        "/live/low/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:6.0,\nseg1.ts?sig=abc\n#EXTINF:6.0,\n/abs/seg2.ts\n"),
    );
    origin.route("/live/low/seg1.ts", file(&seg_a, "video/mp2t"));
    origin.route("/abs/seg2.ts", file(&seg_b, "application/octet-stream"));
    other.route(
        "/high/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nh1.ts\n"),
    );
    other.route("/high/h1.ts", file(&seg_a, "video/mp2t"));

    let relay = Relay::start(&m3u_for(&origin.url("/live/master.m3u8"), "")).await;
    let id = relay.id("Live HLS");
    let master = relay.get(&format!("/stream/{id}.m3u8")).await;
    assert_eq!(master.status, 200, "{}", master.text());
    assert_eq!(
        master.header("content-type"),
        Some("application/vnd.apple.mpegurl")
    );
    assert_eq!(master.header("access-control-allow-origin"), Some("*"));
    let text = master.text();
    for leak in [
        origin.addr.to_string(),
        other.addr.to_string(),
        "sig=".into(),
    ] {
        assert!(!text.contains(&leak), "{leak} leaked: {text}");
    }
    assert!(
        text.contains("#EXT-X-STREAM-INF:BANDWIDTH=800000\n"),
        "{text}"
    );
    let variants = relay_links(&text, &relay);
    assert_eq!(variants.len(), 2, "{text}");
    assert!(
        variants
            .iter()
            .all(|v| v.starts_with("/r/") && v.ends_with(".m3u8"))
    );

    // Low variant: relative with a query, and an absolute-path segment.
    let low = relay.get(&variants[0]).await;
    assert_eq!(low.status, 200, "{}", low.text());
    let segs = relay_links(&low.text(), &relay);
    assert_eq!(segs.len(), 2, "{}", low.text());
    assert!(segs.iter().all(|s| s.ends_with(".ts")), "{segs:?}");
    let s1 = relay.get(&segs[0]).await;
    assert_eq!(s1.status, 200);
    assert_eq!(s1.body, seg_a);
    assert_eq!(s1.header("content-type"), Some("video/mp2t"));
    let s2 = relay.get(&segs[1]).await;
    assert_eq!(s2.body, seg_b);
    assert_eq!(
        s2.header("content-type"),
        Some("video/mp2t"),
        "by extension"
    );
    // The query string reached the origin.
    assert_eq!(origin.seen("/live/low/index.m3u8").len(), 1);
    assert_eq!(origin.seen("/live/low/seg1.ts").len(), 1);

    // High variant: a cross-host absolute URI.
    let high = relay.get(&variants[1]).await;
    let h = relay_links(&high.text(), &relay);
    assert_eq!(relay.get(&h[0]).await.body, seg_a);
    assert_eq!(other.seen("/high/h1.ts").len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn relative_uris_resolve_against_the_url_after_redirects() {
    let origin = Origin::start().await;
    let seg = ts_packets(20);
    origin.route(
        "/entry.m3u8",
        Behavior::Redirect {
            status: 302,
            location: "/cdn/edge7/chan/index.m3u8".into(),
        },
    );
    origin.route(
        "/cdn/edge7/chan/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\n../chan/s1.ts\n"),
    );
    origin.route("/cdn/edge7/chan/s1.ts", file(&seg, "video/mp2t"));
    let relay = Relay::start(&m3u_for(&origin.url("/entry.m3u8"), "")).await;
    let pl = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Live HLS")))
        .await;
    let links = relay_links(&pl.text(), &relay);
    assert_eq!(relay.get(&links[0]).await.body, seg);
    relay.stop().await;
}

#[tokio::test]
async fn channel_headers_apply_to_every_sub_resource() {
    let origin = Origin::start().await;
    let seg = ts_packets(10);
    let gate = vec![("user-agent", "Box/9"), ("referer", "http://portal/")];
    origin.route(
        "/h/index.m3u8",
        Behavior::Gated {
            headers: gate.clone(),
            data: arc(b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nv.m3u8\n".to_vec()),
        },
    );
    // A "segment" line that is really a nested playlist is still fetched with the headers.
    origin.route(
        "/h/v.m3u8",
        Behavior::Gated {
            headers: gate.clone(),
            data: arc(seg.clone()),
        },
    );
    let relay = Relay::start(&m3u_for(
        &origin.url("/h/index.m3u8"),
        "#EXTVLCOPT:http-user-agent=Box/9\n#EXTVLCOPT:http-referrer=http://portal/\n",
    ))
    .await;
    let pl = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Live HLS")))
        .await;
    assert_eq!(pl.status, 200, "{}", pl.text());
    let links = relay_links(&pl.text(), &relay);
    let s = relay.get(&links[0]).await;
    assert_eq!(s.status, 200);
    assert_eq!(s.body, seg);
    relay.stop().await;
}

#[tokio::test]
async fn tokens_are_the_only_way_in() {
    let origin = Origin::start().await;
    origin.route(
        "/p/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ns.ts\n"),
    );
    origin.route("/p/s.ts", file(b"segment", "video/mp2t"));
    origin.route("/secret", file(b"not for clients", "text/plain"));
    let relay = Relay::start(&m3u_for(&origin.url("/p/index.m3u8"), "")).await;
    let id = relay.id("Live HLS");
    let pl = relay.get(&format!("/stream/{id}.m3u8")).await;
    let link = relay_links(&pl.text(), &relay).remove(0);
    let sealed = link
        .strip_prefix("/r/")
        .and_then(|l| l.strip_suffix(".ts"))
        .unwrap()
        .to_string();

    // Altered tokens, URLs and paths in place of a token: 404, and the origin sees nothing.
    let mut flipped = sealed.clone().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let secret_url = origin.url("/secret");
    let encoded = relay_core::proto::base64::encode_url(secret_url.as_bytes());
    for path in [
        format!("/r/{flipped}.ts"),
        format!("/r/{}.ts", &sealed[..sealed.len() - 4]),
        format!("/r/{secret_url}"),
        format!("/r/{encoded}.ts"),
        "/r/..%2F..%2Fetc%2Fpasswd".to_string(),
        "/r/".to_string(),
        format!("/r/{sealed}/x.ts"),
    ] {
        let resp = relay.get(&path).await;
        assert_eq!(resp.status, 404, "{path}: {}", resp.text());
    }
    assert!(origin.seen("/secret").is_empty());
    assert!(origin.seen("/p/s.ts").is_empty());

    // An expired token, sealed with the relay's own keys: 404 with a reason.
    let expired = relay
        .shared
        .tokens
        .seal(&Token {
            channel: id.clone(),
            kind: Kind::Segment,
            url: origin.url("/p/s.ts"),
            expires: (token::now_secs() - 10) as u32,
        })
        .unwrap();
    let resp = relay.get(&format!("/r/{expired}.ts")).await;
    assert_eq!(resp.status, 404);
    assert!(resp.text().contains("expired"), "{}", resp.text());
    // A valid token of a channel that left the catalog.
    let orphan = relay
        .shared
        .tokens
        .seal(&Token {
            channel: "ffffffffffffffff".into(),
            kind: Kind::Segment,
            url: origin.url("/p/s.ts"),
            expires: u32::MAX,
        })
        .unwrap();
    assert_eq!(relay.get(&format!("/r/{orphan}.ts")).await.status, 404);
    assert!(origin.seen("/p/s.ts").is_empty());

    // The extension is cosmetic; the real link works.
    assert_eq!(relay.get(&format!("/r/{sealed}")).await.body, b"segment");
    relay.stop().await;
}

#[tokio::test]
async fn concurrent_viewers_share_one_fetch_per_object() {
    let origin = Origin::start().await;
    let seg = ts_packets(2000);
    origin.route(
        "/c/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nbig.ts\n"),
    );
    origin.route("/c/big.ts", file(&seg, "video/mp2t"));
    let relay = Arc::new(Relay::start(&m3u_for(&origin.url("/c/index.m3u8"), "")).await);
    let path = format!("/stream/{}.m3u8", relay.id("Live HLS"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let relay = relay.clone();
        let path = path.clone();
        tasks.push(tokio::spawn(async move {
            let pl = relay.get(&path).await;
            let link = relay_links(&pl.text(), &relay).remove(0);
            relay.get(&link).await.body
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), seg);
    }
    assert_eq!(
        origin.seen("/c/index.m3u8").len(),
        1,
        "playlist fetched once"
    );
    assert_eq!(origin.seen("/c/big.ts").len(), 1, "segment fetched once");
    // The counters say the same: 40 requests, 2 upstream fetches, both objects held.
    let health = relay.get("/health").await.text();
    let playlist_len = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nbig.ts\n".len();
    for want in [
        "\"hls_requests\":40,".to_string(),
        "\"hls_upstream_fetches\":2,".to_string(),
        format!("\"hls_cache_bytes\":{}}}", seg.len() + playlist_len),
    ] {
        assert!(health.contains(&want), "{want} in {health}");
    }
}

#[tokio::test]
async fn a_playlist_is_rewritten_once_per_fetch_and_served_from_memory() {
    let origin = Origin::start().await;
    let body = "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\na.ts\n#EXTINF:10,\nb.ts\n";
    origin.route("/m/index.m3u8", playlist(body));
    let relay = Relay::start(&m3u_for(&origin.url("/m/index.m3u8"), "")).await;
    let path = format!("/stream/{}.m3u8", relay.id("Live HLS"));
    let first = relay.get(&path).await.text();
    for _ in 0..9 {
        assert_eq!(relay.get(&path).await.text(), first);
    }
    let health = relay.get("/health").await.text();
    let rewrites: u64 = health
        .split("\"hls_playlist_rewrites\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    // Once, or twice if the token period turned over between two requests.
    assert!(
        (1..=2).contains(&rewrites),
        "{rewrites} rewrites for 10 requests: {health}"
    );
    assert_eq!(origin.seen("/m/index.m3u8").len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn live_playlists_are_shared_for_half_the_target_duration() {
    let origin = Origin::start().await;
    let window = |n: u32| {
        playlist(&format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{n}\n#EXTINF:2,\ns{n}.ts\n#EXTINF:2,\ns{}.ts\n",
            n + 1
        ))
    };
    origin.route("/w/index.m3u8", window(1));
    let relay = Relay::start(&m3u_for(&origin.url("/w/index.m3u8"), "")).await;
    let path = format!("/stream/{}.m3u8", relay.id("Live HLS"));
    let first = relay.get(&path).await.text();
    assert!(first.contains("#EXT-X-MEDIA-SEQUENCE:1"));
    origin.route("/w/index.m3u8", window(2));
    // Within the share time the same window is served...
    let again = relay.get(&path).await.text();
    assert_eq!(again, first);
    assert_eq!(origin.seen("/w/index.m3u8").len(), 1);
    // ...and past half the target duration (1 s) the new one.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let next = relay.get(&path).await.text();
    assert!(next.contains("#EXT-X-MEDIA-SEQUENCE:2"), "{next}");
    assert_eq!(origin.seen("/w/index.m3u8").len(), 2);
    // The segment that stayed in the window keeps its link.
    let old = relay_links(&first, &relay);
    let new = relay_links(&next, &relay);
    assert_eq!(old[1], new[0]);
    relay.stop().await;
}

#[tokio::test]
async fn ranges_and_head_are_exact() {
    let origin = Origin::start().await;
    let data = file_bytes(10_000, 7);
    let text = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-BYTERANGE:5000@0\n#EXTINF:4,\nall.ts\n#EXT-X-BYTERANGE:5000@5000\n#EXTINF:4,\nall.ts\n";
    origin.route("/b/index.m3u8", playlist(text));
    origin.route("/b/all.ts", file(&data, "video/mp2t"));
    let relay = Relay::start(&m3u_for(&origin.url("/b/index.m3u8"), "")).await;
    let path = format!("/stream/{}.m3u8", relay.id("Live HLS"));
    let full = relay.get(&path).await;
    assert!(full.text().contains("#EXT-X-BYTERANGE:5000@5000\n"));

    // VLC asks playlists for `bytes=0-`: a 206 of the whole rewritten playlist.
    let ranged = relay
        .request(&format!(
            "GET {path} HTTP/1.1\r\nHost: r\r\nRange: bytes=0-\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.body, full.body);
    let n = full.body.len();
    assert_eq!(
        ranged.header("content-range").unwrap(),
        format!("bytes 0-{}/{n}", n - 1)
    );
    let head = relay
        .request(&format!(
            "HEAD {path} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), full.header("content-length"));

    // A byte range of a segment goes upstream as a range and comes back exact.
    let link = relay_links(&full.text(), &relay).remove(1);
    let part = relay
        .request(&format!(
            "GET {link} HTTP/1.1\r\nHost: r\r\nRange: bytes=5000-9999\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(part.status, 206, "{}", part.text());
    assert_eq!(part.body, &data[5000..]);
    assert_eq!(part.header("content-range"), Some("bytes 5000-9999/10000"));
    let seen = origin.seen("/b/all.ts");
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].header("range"), Some("bytes=5000-9999"));
    // HEAD of a segment agrees with GET.
    let whole = relay.get(&link).await;
    let head = relay
        .request(&format!(
            "HEAD {link} HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(head.header("content-length"), Some("10000"));
    assert_eq!(whole.body, data);
    // An impossible range: 416 with the length.
    let bad = relay
        .request(&format!(
            "GET {link} HTTP/1.1\r\nHost: r\r\nRange: bytes=20000-\r\nConnection: close\r\n\r\n"
        ))
        .await;
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some("bytes */10000"));
    relay.stop().await;
}

#[tokio::test]
async fn upstream_failures_are_502_or_504_with_a_reason() {
    let origin = Origin::start().await;
    origin.route(
        "/f/index.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ngone.ts\n#EXTINF:2,\nslow.ts\n"),
    );
    origin.route(
        "/f/gone.ts",
        Behavior::Status {
            status: 404,
            body: "no",
        },
    );
    origin.route("/f/slow.ts", Behavior::Stall);
    origin.route("/html.m3u8", file(b"<html>login</html>", "text/html"));
    let m3u = format!(
        "#EXTM3U\n#EXTINF:-1,Live HLS\n{}\n#EXTINF:-1,Portal\n{}\n#EXTINF:-1,Down\nhttp://127.0.0.1:1/x.m3u8\n",
        origin.url("/f/index.m3u8"),
        origin.url("/html.m3u8"),
    );
    let relay = Relay::start(&m3u).await;
    let pl = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Live HLS")))
        .await;
    let links = relay_links(&pl.text(), &relay);
    let gone = relay.get(&links[0]).await;
    assert_eq!(gone.status, 502);
    assert!(gone.text().contains("404"), "{}", gone.text());
    let slow = relay.get(&links[1]).await;
    assert_eq!(slow.status, 504, "{}", slow.text());
    let portal = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Portal")))
        .await;
    assert_eq!(portal.status, 502);
    assert!(
        portal.text().contains("not send an HLS playlist"),
        "{}",
        portal.text()
    );
    let down = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Down")))
        .await;
    assert_eq!(down.status, 502, "{}", down.text());
    relay.stop().await;
}

fn keep_alive(data: &[u8], content_type: &'static str, per_connection: usize) -> Behavior {
    Behavior::KeepAlive {
        data: arc(data.to_vec()),
        content_type,
        per_connection,
    }
}

#[tokio::test]
async fn upstream_connections_are_kept_alive_and_stale_ones_replaced() {
    let origin = Origin::start().await;
    let segs: Vec<Vec<u8>> = (0..5).map(|i| file_bytes(3000 + i, i as u64)).collect();
    let mut text = "#EXTM3U\n#EXT-X-TARGETDURATION:2\n".to_string();
    for i in 0..segs.len() {
        text.push_str(&format!("#EXTINF:2,\nk{i}.ts\n"));
    }
    let many = usize::MAX;
    origin.route(
        "/k/index.m3u8",
        keep_alive(text.as_bytes(), "application/vnd.apple.mpegurl", many),
    );
    for (i, seg) in segs.iter().enumerate() {
        origin.route(&format!("/k/k{i}.ts"), keep_alive(seg, "video/mp2t", many));
    }
    let relay = Relay::start(&m3u_for(&origin.url("/k/index.m3u8"), "")).await;
    let pl = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Live HLS")))
        .await;
    let links = relay_links(&pl.text(), &relay);
    for (link, seg) in links.iter().zip(&segs) {
        assert_eq!(&relay.get(link).await.body, seg);
    }
    assert_eq!(
        origin.connections.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the playlist and five segments came over one connection"
    );

    // A server that closes each connection after one answer, just as the next request comes:
    // the request is sent again on a fresh connection, and the viewer sees no error.
    let brief = Origin::start().await;
    brief.route(
        "/b/index.m3u8",
        keep_alive(
            b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na.ts\n#EXTINF:2,\nb.ts\n",
            "application/vnd.apple.mpegurl",
            1,
        ),
    );
    brief.route("/b/a.ts", keep_alive(b"first", "video/mp2t", 1));
    brief.route("/b/b.ts", keep_alive(b"second", "video/mp2t", 1));
    let relay2 = Relay::start(&m3u_for(&brief.url("/b/index.m3u8"), "")).await;
    let pl = relay2
        .get(&format!("/stream/{}.m3u8", relay2.id("Live HLS")))
        .await;
    let links = relay_links(&pl.text(), &relay2);
    for (link, want) in links.iter().zip([&b"first"[..], b"second"]) {
        let resp = relay2.get(link).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        assert_eq!(resp.body, want);
    }
    assert_eq!(
        brief.connections.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    assert_eq!(brief.seen("/b/a.ts").len(), 2, "sent, refused, sent again");
    relay.stop().await;
    relay2.stop().await;
}

#[tokio::test]
async fn an_oversized_playlist_is_refused_with_a_reason() {
    let origin = Origin::start().await;
    let mut huge = b"#EXTM3U\n".to_vec();
    huge.resize(relay_core::proto::hls::MAX_PLAYLIST_BYTES + 1, b'#');
    origin.route("/huge.m3u8", file(&huge, "application/vnd.apple.mpegurl"));
    origin.route(
        "/huge-chunked.m3u8",
        Behavior::Chunked {
            data: arc(huge),
            piece: 1 << 20,
            finish: true,
        },
    );
    let m3u = format!(
        "#EXTM3U\n#EXTINF:-1,Sized\n{}\n#EXTINF:-1,Chunked\n{}\n",
        origin.url("/huge.m3u8"),
        origin.url("/huge-chunked.m3u8")
    );
    let relay = Relay::start(&m3u).await;
    for name in ["Sized", "Chunked"] {
        let resp = relay.get(&format!("/stream/{}.m3u8", relay.id(name))).await;
        assert_eq!(resp.status, 502, "{name}");
        assert!(resp.text().contains("too large"), "{name}: {}", resp.text());
    }
    relay.stop().await;
}

#[tokio::test]
async fn keys_maps_renditions_and_parts_are_relayed() {
    let origin = Origin::start().await;
    let key = file_bytes(16, 99);
    let init = file_bytes(700, 1);
    let part = file_bytes(900, 2);
    let audio_seg = file_bytes(1200, 3);
    origin.route(
        "/m/master.m3u8",
        playlist(
            "#EXTM3U\r\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"English, main\",DEFAULT=YES,URI=\"audio/a.m3u8\"\r\n#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"aud\"\r\nvideo/v.m3u8\r\n#EXT-X-X-UNKNOWN:URI=\"kept/as/is\"\r\n",
        ),
    );
    origin.route(
        "/m/video/v.m3u8",
        playlist(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-VERSION:9\n#EXT-X-KEY:METHOD=AES-128,URI=\"../keys/k.key?kid=7\",IV=0x000102030405060708090a0b0c0d0e0f\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-PART:DURATION=0.5,URI=\"p1.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p2.m4s\"\n#EXT-X-RENDITION-REPORT:URI=\"../audio/a.m3u8\",LAST-MSN=1\n",
        ),
    );
    origin.route(
        "/m/audio/a.m3u8",
        playlist("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\na1.aac\n"),
    );
    origin.route("/m/keys/k.key", file(&key, "text/plain"));
    origin.route("/m/video/init.mp4", file(&init, "video/mp4"));
    origin.route("/m/video/p1.m4s", file(&part, "application/octet-stream"));
    origin.route("/m/audio/a1.aac", file(&audio_seg, "audio/aac"));
    let relay = Relay::start(&m3u_for(&origin.url("/m/master.m3u8"), "")).await;
    let master = relay
        .get(&format!("/stream/{}.m3u8", relay.id("Live HLS")))
        .await
        .text();
    assert!(
        master.contains("\r\n#EXT-X-X-UNKNOWN:URI=\"kept/as/is\"\r\n"),
        "{master}"
    );
    assert!(
        master.contains("NAME=\"English, main\",DEFAULT=YES,URI=\""),
        "{master}"
    );
    let links = relay_links(&master, &relay);
    assert_eq!(links.len(), 2, "{master}");
    let audio = relay.get(&links[0]).await.text();
    let a = relay_links(&audio, &relay);
    let got = relay.get(&a[0]).await;
    assert_eq!(got.body, audio_seg);
    assert_eq!(got.header("content-type"), Some("audio/aac"));
    assert!(a[0].ends_with(".aac"), "{a:?}");

    let video = relay.get(&links[1]).await.text();
    assert!(!video.contains(&origin.addr.to_string()), "{video}");
    assert!(
        video.contains(",IV=0x000102030405060708090a0b0c0d0e0f\n"),
        "{video}"
    );
    let v = relay_links(&video, &relay);
    assert_eq!(v.len(), 5, "key, map, part, hint, report: {video}");
    let k = relay.get(&v[0]).await;
    assert_eq!(k.body, key);
    assert_eq!(k.header("content-type"), Some("application/octet-stream"));
    assert_eq!(origin.seen("/m/keys/k.key").len(), 1);
    let m = relay.get(&v[1]).await;
    assert!(v[1].ends_with(".mp4"));
    assert_eq!(m.body, init);
    assert_eq!(m.header("content-type"), Some("video/mp4"));
    let p = relay.get(&v[2]).await;
    assert!(v[2].ends_with(".m4s"));
    assert_eq!(p.body, part);
    assert_eq!(p.header("content-type"), Some("video/mp4"));
    assert!(
        v[4].ends_with(".m3u8"),
        "a rendition report names a playlist"
    );
    relay.stop().await;
}
