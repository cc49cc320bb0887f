//! End-to-end: catalog in, playlist out, streams relayed, every error path — over real sockets
//! against an in-process origin.

mod common;

use common::*;
use relay_core::proto::m3u;
use std::sync::Arc;
use std::time::Duration;

fn arc(v: Vec<u8>) -> Arc<Vec<u8>> {
    Arc::new(v)
}

#[tokio::test]
async fn playlist_rewrites_every_url_and_keeps_attributes() {
    let origin = Origin::start().await;
    let m3u_text = format!(
        "#EXTM3U url-tvg=\"http://epg.example/guide.xml\"\n\
         #EXTINF:-1 tvg-id=\"news.uk\" tvg-name=\"News\" tvg-logo=\"http://logo/n.png\" tvg-chno=\"7\" group-title=\"UK, News\" catchup=\"default\" x-custom=\"kept\",News 24, Live\n\
         #EXTVLCOPT:http-user-agent=Secret/1.0\n\
         {}\n\
         #EXTINF:-1 group-title=\"Movies\",A Film\n\
         {}\n\
         #EXTINF:-1 group-title=\"HLS\",An HLS Channel\n\
         {}|User-Agent=Other\n",
        origin.url("/live/news"),
        origin.url("/vod/film.mkv?token=abc"),
        origin.url("/hls/index.m3u8"),
    );
    let relay = Relay::start(&m3u_text).await;
    let resp = relay.get("/playlist.m3u8").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("audio/x-mpegurl"));
    let text = resp.text();
    assert!(
        !text.contains(&origin.addr.to_string()),
        "origin leaked: {text}"
    );
    assert!(
        !text.contains("Secret/1.0") && !text.contains("EXTVLCOPT"),
        "{text}"
    );
    assert!(
        text.contains("url-tvg=\"http://epg.example/guide.xml\""),
        "{text}"
    );
    let pl = m3u::parse(text.as_bytes());
    assert_eq!(pl.entries.len(), 3);
    let base = format!("http://{}/stream/", relay.addr);
    let news = &pl.entries[0];
    assert_eq!(news.name, "News 24, Live");
    assert_eq!(news.attr("tvg-id"), Some("news.uk"));
    assert_eq!(news.attr("group-title"), Some("UK, News"));
    assert_eq!(news.attr("tvg-chno"), Some("7"));
    assert_eq!(news.attr("catchup"), Some("default"));
    assert_eq!(news.attr("x-custom"), Some("kept"));
    assert_eq!(news.url, format!("{base}{}.ts", relay.id("News 24, Live")));
    assert_eq!(
        pl.entries[1].url,
        format!("{base}{}.mkv", relay.id("A Film"))
    );
    assert_eq!(
        pl.entries[2].url,
        format!("{base}{}.m3u8", relay.id("An HLS Channel"))
    );
    // The .m3u alias serves the same playlist.
    assert_eq!(relay.get("/playlist.m3u").await.body, resp.body);
    // Filters.
    let films = m3u::parse(&relay.get("/playlist.m3u8?group=movies").await.body);
    assert_eq!(films.entries.len(), 1);
    let q = m3u::parse(&relay.get("/playlist.m3u8?q=news+24").await.body);
    assert_eq!(q.entries.len(), 1);
    relay.stop().await;
}

#[tokio::test]
async fn public_url_comes_from_setting_or_host_header() {
    let m3u_text = "#EXTINF:-1,One\nhttp://127.0.0.1:9/one.ts\n";
    let mut config = test_config();
    config
        .set("public-url", "https://tv.example.net/relay/")
        .unwrap();
    let relay = Relay::start_with(config, m3u_text).await;
    let pl = m3u::parse(&relay.get("/playlist.m3u8").await.body);
    assert_eq!(
        pl.entries[0].url,
        format!("https://tv.example.net/relay/stream/{}.ts", relay.id("One"))
    );
    relay.stop().await;

    let mut config = test_config();
    config.set("listen", "0.0.0.0:0").unwrap();
    let relay = Relay::start_with(config, m3u_text).await;
    let raw = "GET /playlist.m3u8 HTTP/1.1\r\nHost: 192.168.1.20:8080\r\nConnection: close\r\n\r\n";
    let pl = m3u::parse(&relay.request(raw).await.body);
    assert_eq!(
        pl.entries[0].url,
        format!("http://192.168.1.20:8080/stream/{}.ts", relay.id("One"))
    );
    // A Host header that is not a host is never echoed.
    let raw = "GET /playlist.m3u8 HTTP/1.1\r\nHost: evil.example/x?\r\nConnection: close\r\n\r\n";
    let text = relay.request(raw).await.text();
    assert!(!text.contains("evil"), "{text}");
    relay.stop().await;
}

#[tokio::test]
async fn ts_bytes_are_identical_for_every_upstream_framing() {
    let origin = Origin::start().await;
    let ts = arc(ts_packets(5_000));
    origin.route(
        "/live",
        Behavior::Live {
            data: ts.clone(),
            piece: 7_000,
            pause: Duration::ZERO,
        },
    );
    origin.route(
        "/chunked",
        Behavior::Chunked {
            data: ts.clone(),
            piece: 10_000,
            finish: true,
        },
    );
    origin.route("/sized.ts", Behavior::FileNoRanges { data: ts.clone() });
    let m3u_text = format!(
        "#EXTINF:-1,Live\n{}\n#EXTINF:-1,Chunked\n{}\n#EXTINF:-1,Sized\n{}\n",
        origin.url("/live"),
        origin.url("/chunked"),
        origin.url("/sized.ts")
    );
    let relay = Relay::start(&m3u_text).await;
    for name in ["Live", "Chunked", "Sized"] {
        let resp = relay.get(&format!("/stream/{}.ts", relay.id(name))).await;
        assert_eq!(resp.status, 200, "{name}");
        assert_eq!(resp.header("content-type"), Some("video/mp2t"), "{name}");
        assert_eq!(resp.end, End::Closed, "{name}");
        assert!(
            resp.body == *ts,
            "{name}: {} bytes, want {}",
            resp.body.len(),
            ts.len()
        );
    }
    let sized = relay.get(&format!("/stream/{}", relay.id("Sized"))).await;
    assert_eq!(
        sized.header("content-length"),
        Some(ts.len().to_string().as_str())
    );
    relay.stop().await;
}

#[tokio::test]
async fn file_ranges_are_exact() {
    let origin = Origin::start().await;
    let data = arc(file_bytes(1_000_003, 7));
    origin.route(
        "/movie.mp4",
        Behavior::File {
            data: data.clone(),
            content_type: "video/mp4",
        },
    );
    origin.route("/plain.mp4", Behavior::FileNoRanges { data: data.clone() });
    let m3u_text = format!(
        "#EXTINF:-1,Movie\n{}\n#EXTINF:-1,Plain\n{}\n",
        origin.url("/movie.mp4"),
        origin.url("/plain.mp4")
    );
    let relay = Relay::start(&m3u_text).await;
    let len = data.len();
    // Both an upstream that honours Range and one that ignores it (the relay cuts the range out).
    for name in ["Movie", "Plain"] {
        let path = format!("/stream/{}.mp4", relay.id(name));
        let full = relay.get(&path).await;
        assert_eq!(full.status, 200, "{name}");
        assert_eq!(full.header("content-type"), Some("video/mp4"));
        assert_eq!(
            full.header("content-length"),
            Some(len.to_string().as_str())
        );
        assert_eq!(full.header("accept-ranges"), Some("bytes"));
        assert!(full.body == *data, "{name}: full body differs");

        let cases: [(&str, usize, usize); 5] = [
            ("bytes=0-99", 0, 99),
            ("bytes=1000-", 1000, len - 1),
            ("bytes=-500", len - 500, len - 1),
            ("bytes=999999-2000000", 999_999, len - 1),
            ("bytes=0-0", 0, 0),
        ];
        for (range, first, last) in cases {
            let raw = format!(
                "GET {path} HTTP/1.1\r\nHost: r\r\nRange: {range}\r\nConnection: close\r\n\r\n"
            );
            let resp = relay.request(&raw).await;
            assert_eq!(resp.status, 206, "{name} {range}");
            let want_cr = format!("bytes {first}-{last}/{len}");
            assert_eq!(
                resp.header("content-range"),
                Some(want_cr.as_str()),
                "{name} {range}"
            );
            let want_len = (last - first + 1).to_string();
            assert_eq!(
                resp.header("content-length"),
                Some(want_len.as_str()),
                "{name} {range}"
            );
            assert!(
                resp.body == data[first..=last],
                "{name} {range}: body differs"
            );
        }
        let raw = format!(
            "GET {path} HTTP/1.1\r\nHost: r\r\nRange: bytes={len}-\r\nConnection: close\r\n\r\n"
        );
        let resp = relay.request(&raw).await;
        assert_eq!(resp.status, 416, "{name}");
        assert_eq!(
            resp.header("content-range"),
            Some(format!("bytes */{len}").as_str())
        );

        // HEAD agrees with GET, with and without a range.
        for range in ["", "Range: bytes=10-19\r\n"] {
            let get = relay
                .request(&format!(
                    "GET {path} HTTP/1.1\r\nHost: r\r\n{range}Connection: close\r\n\r\n"
                ))
                .await;
            let head = relay
                .request(&format!(
                    "HEAD {path} HTTP/1.1\r\nHost: r\r\n{range}Connection: close\r\n\r\n"
                ))
                .await;
            assert_eq!(head.status, get.status);
            for h in [
                "content-type",
                "content-length",
                "content-range",
                "accept-ranges",
            ] {
                assert_eq!(head.header(h), get.header(h), "{name} HEAD {h}");
            }
            assert!(head.body.is_empty());
        }
    }
    relay.stop().await;
}

#[tokio::test]
async fn redirects_are_followed_and_bounded() {
    let origin = Origin::start().await;
    let data = arc(file_bytes(50_000, 3));
    origin.route(
        "/final.mp4",
        Behavior::File {
            data: data.clone(),
            content_type: "video/mp4",
        },
    );
    origin.route(
        "/a",
        Behavior::Redirect {
            status: 302,
            location: "/b/x".into(),
        },
    );
    origin.route(
        "/b/x",
        Behavior::Redirect {
            status: 301,
            location: "../final.mp4".into(),
        },
    );
    origin.route(
        "/loop",
        Behavior::Redirect {
            status: 307,
            location: "/loop".into(),
        },
    );
    let m3u_text = format!(
        "#EXTINF:-1,Hop\n{}\n#EXTINF:-1,Loop\n{}\n",
        origin.url("/a"),
        origin.url("/loop")
    );
    let relay = Relay::start(&m3u_text).await;
    let resp = relay.get(&format!("/stream/{}", relay.id("Hop"))).await;
    assert_eq!(resp.status, 200);
    assert!(resp.body == *data);
    let resp = relay.get(&format!("/stream/{}", relay.id("Loop"))).await;
    assert_eq!(resp.status, 502);
    assert!(
        resp.text().contains("redirected more than"),
        "{}",
        resp.text()
    );
    relay.stop().await;
}

#[tokio::test]
async fn channel_headers_reach_the_upstream() {
    let origin = Origin::start().await;
    let data = arc(ts_packets(100));
    let gate = vec![
        ("User-Agent", "Player/2.0"),
        ("Referer", "http://ref.example/"),
        ("Origin", "http://origin.example"),
        ("Cookie", "session=42"),
    ];
    origin.route(
        "/gated",
        Behavior::Gated {
            headers: gate.clone(),
            data: data.clone(),
        },
    );
    origin.route(
        "/gated2",
        Behavior::Gated {
            headers: gate,
            data: data.clone(),
        },
    );
    let m3u_text = format!(
        "#EXTINF:-1,Opts\n\
         #EXTVLCOPT:http-user-agent=Player/2.0\n\
         #EXTVLCOPT:http-referrer=http://ref.example/\n\
         #EXTVLCOPT:http-origin=http://origin.example\n\
         #EXTHTTP:{{\"Cookie\":\"session=42\"}}\n\
         {}\n\
         #EXTINF:-1,Suffix\n\
         {}|User-Agent=Player%2F2.0&Referer=http://ref.example/&Origin=http://origin.example&Cookie=session%3D42\n\
         #EXTINF:-1,Bare\n\
         {}\n",
        origin.url("/gated"),
        origin.url("/gated2"),
        origin.url("/gated")
    );
    let relay = Relay::start(&m3u_text).await;
    for name in ["Opts", "Suffix"] {
        let resp = relay.get(&format!("/stream/{}.ts", relay.id(name))).await;
        assert_eq!(resp.status, 200, "{name}: {}", resp.text());
        assert!(resp.body == *data);
    }
    let resp = relay.get(&format!("/stream/{}.ts", relay.id("Bare"))).await;
    assert_eq!(resp.status, 502);
    assert!(resp.text().contains("403"), "{}", resp.text());
    // Without channel headers the default User-Agent is sent.
    let bare = origin.seen("/gated").into_iter().last().unwrap();
    assert_eq!(
        bare.header("user-agent"),
        Some(relay_core::config::DEFAULT_USER_AGENT)
    );
    relay.stop().await;
}

#[tokio::test]
async fn upstream_failures_before_the_first_byte_are_502_or_504() {
    let origin = Origin::start().await;
    origin.route(
        "/gone",
        Behavior::Status {
            status: 404,
            body: "nope",
        },
    );
    origin.route(
        "/broken",
        Behavior::Status {
            status: 500,
            body: "oops",
        },
    );
    origin.route("/stall", Behavior::Stall);
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let m3u_text = format!(
        "#EXTINF:-1,Gone\n{}\n#EXTINF:-1,Broken\n{}\n#EXTINF:-1,Stall\n{}\n#EXTINF:-1,Closed\nhttp://{closed}/x.ts\n#EXTINF:-1,NoHost\nhttp://nonexistent.invalid/x.ts\n#EXTINF:-1,Ftp\nftp://example/x.ts\n",
        origin.url("/gone"),
        origin.url("/broken"),
        origin.url("/stall"),
    );
    let relay = Relay::start(&m3u_text).await;
    let cases = [
        ("Gone", 502, "upstream answered 404"),
        ("Broken", 502, "upstream answered 500"),
        ("Stall", 504, "timed out"),
        ("Closed", 502, "refused"),
        ("NoHost", 502, "did not resolve"),
        ("Ftp", 502, "not supported"),
    ];
    for (name, status, reason) in cases {
        let resp = relay.get(&format!("/stream/{}.ts", relay.id(name))).await;
        assert_eq!(resp.status, status, "{name}: {}", resp.text());
        assert!(resp.text().contains(reason), "{name}: {:?}", resp.text());
        assert_eq!(
            resp.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
    let resp = relay.get("/stream/0000000000000000.ts").await;
    assert_eq!(resp.status, 404);
    relay.stop().await;
}

#[tokio::test]
async fn a_body_cut_upstream_is_cut_downstream() {
    let origin = Origin::start().await;
    let data = arc(file_bytes(300_000, 9));
    origin.route(
        "/short.mp4",
        Behavior::ShortBody {
            data: data.clone(),
            declared: 500_000,
        },
    );
    origin.route(
        "/chunky",
        Behavior::Chunked {
            data: data.clone(),
            piece: 30_000,
            finish: false,
        },
    );
    let m3u_text = format!(
        "#EXTINF:-1,Short\n{}\n#EXTINF:-1,Chunky\n{}\n",
        origin.url("/short.mp4"),
        origin.url("/chunky")
    );
    let relay = Relay::start(&m3u_text).await;
    let short = relay
        .get(&format!("/stream/{}.mp4", relay.id("Short")))
        .await;
    assert_eq!(short.status, 200);
    assert_eq!(short.header("content-length"), Some("500000"));
    assert!(short.body.len() < 500_000);
    assert!(
        data.starts_with(&short.body),
        "what arrived is a prefix of the origin's bytes"
    );
    // The relay's chunk-less live answer ends at close, so a cut must be a reset, never a FIN.
    let chunky = relay
        .get(&format!("/stream/{}.ts", relay.id("Chunky")))
        .await;
    assert_eq!(chunky.status, 200);
    assert_eq!(
        chunky.end,
        End::Reset,
        "a cut upstream must reset the client"
    );
    assert!(data.starts_with(&chunky.body));
    relay.stop().await;
}

#[tokio::test]
async fn malformed_and_refused_requests() {
    let relay = Relay::start("").await;
    let resp = relay.request("GARBAGE\r\n\r\n").await;
    assert_eq!(resp.status, 400);
    assert_eq!(resp.header("connection"), Some("close"));
    let resp = relay.request("GET / HTTP/1.1\r\nBad Header\r\n\r\n").await;
    assert_eq!(resp.status, 400);
    let big = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(40_000));
    let resp = relay.request(&big).await;
    assert_eq!(resp.status, 431);
    let resp = relay.request("POST /playlist.m3u8 HTTP/1.1\r\nHost: r\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc").await;
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    let resp = relay.request("GET / HTTP/2.0\r\n\r\n").await;
    assert!(resp.status == 505 || resp.status == 400, "{}", resp.status);
    let resp = relay.get("/nowhere").await;
    assert_eq!(resp.status, 404);
    let resp = relay.get("/stream/").await;
    assert_eq!(resp.status, 404);
    relay.stop().await;
}

#[tokio::test]
async fn keep_alive_and_pipelining_answer_in_order() {
    let relay = Relay::start("#EXTINF:-1,One\nhttp://127.0.0.1:9/1.ts\n").await;
    let raw = "GET /health HTTP/1.1\r\nHost: r\r\n\r\nGET /api/channels HTTP/1.1\r\nHost: r\r\n\r\nGET /playlist.m3u HTTP/1.1\r\nHost: r\r\nConnection: close\r\n\r\n";
    let (bytes, end) = raw_exchange(relay.addr, raw.as_bytes()).await;
    assert_eq!(end, End::Closed);
    let mut rest = &bytes[..];
    let mut statuses = Vec::new();
    let mut bodies = Vec::new();
    while !rest.is_empty() {
        let resp = parse_response(rest, end).expect("a response");
        let len: usize = resp.header("content-length").unwrap().parse().unwrap();
        let head_len = rest.len() - resp.body.len();
        statuses.push(resp.status);
        bodies.push(String::from_utf8_lossy(&resp.body[..len]).into_owned());
        rest = &rest[head_len + len..];
    }
    assert_eq!(statuses, [200, 200, 200]);
    assert!(bodies[0].contains("\"status\":\"ok\""));
    assert!(bodies[1].contains("\"count\":1"));
    assert!(bodies[2].starts_with("#EXTM3U"));
    relay.stop().await;
}

#[tokio::test]
async fn http10_closes_unless_keep_alive() {
    let relay = Relay::start("").await;
    let (bytes, end) = raw_exchange(relay.addr, b"GET /health HTTP/1.0\r\n\r\n").await;
    assert_eq!(end, End::Closed);
    let resp = parse_response(&bytes, end).unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("connection"), Some("close"));
    relay.stop().await;
}

#[tokio::test]
async fn a_slow_request_head_gets_408() {
    let relay = Relay::start("").await;
    let resp = relay.request("GET /health HTTP/1.1\r\nHost: r\r\n").await;
    assert_eq!(resp.status, 408);
    relay.stop().await;
}

#[tokio::test]
async fn api_channels_and_health_are_json() {
    let origin = Origin::start().await;
    let m3u_text = format!(
        "#EXTINF:-1 tvg-id=\"a.1\" tvg-logo=\"http://l/a.png\" group-title=\"News\",Alpha \"Quoted\"\n{}\n#EXTINF:-1 group-title=\"Sport\",Beta\n{}\n",
        origin.url("/a"),
        origin.url("/b.mp4")
    );
    let relay = Relay::start(&m3u_text).await;
    let resp = relay.get("/api/channels").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    let text = resp.text();
    assert!(text.starts_with("{\"count\":2,"), "{text}");
    assert!(
        text.contains(r#""name":"Alpha 'Quoted'""#)
            || text.contains(r#""name":"Alpha \"Quoted\"""#),
        "{text}"
    );
    assert!(text.contains(r#""tvg_id":"a.1""#), "{text}");
    assert!(text.contains(r#""kind":"file""#), "{text}");
    assert!(
        !text.contains(&origin.addr.to_string()),
        "origin leaked: {text}"
    );
    let sport = relay.get("/api/channels?group=sport").await.text();
    assert!(
        sport.starts_with("{\"count\":1,") && sport.contains("Beta"),
        "{sport}"
    );
    let q = relay.get("/api/channels?q=ALPHA").await.text();
    assert!(q.starts_with("{\"count\":1,") && q.contains("Alpha"), "{q}");
    let groups = relay.get("/api/groups").await.text();
    assert_eq!(
        groups,
        "{\"count\":2,\"groups\":[{\"name\":\"News\",\"channels\":1},{\"name\":\"Sport\",\"channels\":1}]}\n"
    );
    let health = relay.get("/health").await;
    assert_eq!(health.status, 200);
    assert!(
        health.text().contains("\"channels\":2"),
        "{}",
        health.text()
    );
    relay.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_get_503() {
    let mut config = test_config();
    config.set("max-connections", "2").unwrap();
    config.set("head-timeout", "5s").unwrap();
    let relay = Relay::start_with(config, "").await;
    let _a = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    let _b = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resp = relay.get("/health").await;
    assert_eq!(resp.status, 503);
    assert!(resp.header("retry-after").is_some());
    relay.stop().await;
}

#[tokio::test]
async fn an_upstream_that_stalls_mid_body_is_cut() {
    let origin = Origin::start().await;
    // One piece, then a silence far longer than the relay's upstream idle timeout.
    let data = arc(ts_packets(200));
    origin.route(
        "/stalls",
        Behavior::Live {
            data: data.clone(),
            piece: 188 * 100,
            pause: Duration::from_secs(30),
        },
    );
    let mut config = test_config();
    config.set("upstream-idle-timeout", "300ms").unwrap();
    let relay = Relay::start_with(
        config,
        &format!("#EXTINF:-1,Stalls\n{}\n", origin.url("/stalls")),
    )
    .await;
    let resp = relay
        .get(&format!("/stream/{}.ts", relay.id("Stalls")))
        .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.end,
        End::Reset,
        "a stalled upstream must not look like a clean end"
    );
    assert!(
        resp.body == data[..188 * 100],
        "the first piece arrives intact"
    );
    relay.stop().await;
}

#[tokio::test]
async fn invalid_upstream_answers_are_502_never_a_panic() {
    let origin = Origin::start().await;
    let cases: [(&str, &'static str, &str); 6] = [
        ("/garbage", "NOT HTTP AT ALL\r\n\r\n", "invalid response"),
        (
            "/huge-range",
            "HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-18446744073709551615/*\r\n\r\n",
            "Content-Range",
        ),
        (
            "/no-range",
            "HTTP/1.1 206 Partial\r\nContent-Length: 5\r\n\r\nabcde",
            "without a valid Content-Range",
        ),
        (
            "/mismatch",
            "HTTP/1.1 206 Partial\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 5\r\n\r\nabcde",
            "disagrees",
        ),
        (
            "/two-lengths",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcde",
            "invalid response",
        ),
        ("/empty", "", "closed the connection before a response"),
    ];
    let mut m3u_text = String::new();
    for (path, raw, _) in cases {
        origin.route(path, Behavior::Raw(raw));
        m3u_text.push_str(&format!("#EXTINF:-1,{path}\n{}\n", origin.url(path)));
    }
    let relay = Relay::start(&m3u_text).await;
    for (path, _, reason) in cases {
        let resp = relay.get(&format!("/stream/{}.ts", relay.id(path))).await;
        assert_eq!(resp.status, 502, "{path}: {}", resp.text());
        assert!(resp.text().contains(reason), "{path}: {:?}", resp.text());
    }
    relay.stop().await;
}

#[tokio::test]
async fn a_large_playlist_is_sent_in_chunks_as_it_is_written() {
    // About 2.5 MB of playlist: over PLAYLIST_SIZED_MAX_BYTES, so it is streamed.
    let mut m3u = String::from("#EXTM3U url-tvg=\"http://epg.example/x.xml\"\n");
    for i in 0..10_000 {
        m3u.push_str(&format!(
            "#EXTINF:-1 tvg-id=\"ch{i}\" group-title=\"Group {}\",Channel number {i} with a long name to fill the playlist\nhttp://127.0.0.1:9/live/{i}.ts\n",
            i % 40
        ));
    }
    let relay = Relay::start(&m3u).await;
    let resp = relay.get("/playlist.m3u8").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.header("content-length"), None);
    let mut decoder = relay_core::proto::http::ChunkedDecoder::new();
    let mut body = Vec::new();
    let mut at = 0;
    while !decoder.is_done() {
        let step = decoder
            .decode(&resp.body[at..])
            .expect("valid chunked framing");
        body.extend_from_slice(&resp.body[at..][step.data.clone()]);
        at += step.consumed;
        assert!(step.consumed > 0 || decoder.is_done(), "framing ends early");
    }
    let text = String::from_utf8(body).unwrap();
    assert!(text.starts_with("#EXTM3U"));
    assert_eq!(text.matches("#EXTINF").count(), 10_000);
    assert_eq!(
        text.matches(&format!("http://{}/stream/", relay.addr))
            .count(),
        10_000
    );
    // An HTTP/1.0 client gets the same bytes, ended by the close.
    let old = relay
        .request("GET /playlist.m3u8 HTTP/1.0\r\nHost: relay\r\n\r\n")
        .await;
    assert_eq!(old.header("transfer-encoding"), None);
    assert_eq!(old.end, End::Closed);
    assert_eq!(String::from_utf8(old.body).unwrap(), text);
    relay.stop().await;
}

#[tokio::test]
async fn a_web_page_is_never_relayed_as_video_and_a_playlist_is_served_as_hls() {
    let origin = Origin::start().await;
    origin.route(
        "/expired",
        Behavior::Raw(
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp2t\r\nConnection: close\r\n\r\n<!DOCTYPE html><html><body>Your account has expired</body></html>",
        ),
    );
    origin.route(
        "/json",
        Behavior::Raw("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"user_info\":{\"auth\":0}}"),
    );
    origin.route(
        "/live/42",
        Behavior::Raw(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\nseg1.ts\n",
        ),
    );
    for share in ["auto", "never"] {
        let mut config = test_config();
        config.set("share", share).unwrap();
        let m3u = format!(
            "#EXTM3U\n#EXTINF:-1,Expired\n{}\n#EXTINF:-1,Json\n{}\n#EXTINF:-1,Sneaky HLS\n{}\n",
            origin.url("/expired"),
            origin.url("/json"),
            origin.url("/live/42")
        );
        let relay = Relay::start_with(config, &m3u).await;
        for name in ["Expired", "Json"] {
            let resp = relay.get(&format!("/stream/{}.ts", relay.id(name))).await;
            assert_eq!(resp.status, 502, "{share} {name}");
            assert!(
                resp.text().contains("not a stream"),
                "{share}: {}",
                resp.text()
            );
            assert!(!resp.text().contains("expired</body>"));
        }
        let resp = relay
            .get(&format!("/stream/{}.ts", relay.id("Sneaky HLS")))
            .await;
        assert_eq!(resp.status, 200, "{share}");
        assert_eq!(
            resp.header("content-type"),
            Some("application/vnd.apple.mpegurl")
        );
        let text = resp.text();
        assert!(
            text.contains(&format!("http://{}/r/", relay.addr)),
            "{text}"
        );
        assert!(!text.contains("seg1.ts"), "{text}");
        relay.stop().await;
    }
}
