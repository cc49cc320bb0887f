//! The Engine as an embedder (and the server binary) drives it: own runtime, start on
//! 127.0.0.1:0, sources from files and URLs, reload, stop.

mod common;

use common::*;
use relay_core::config::Config;
use relay_core::engine::Engine;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let resp = parse_response(&out, End::Closed).unwrap();
    (resp.status, resp.text())
}

#[test]
fn engine_loads_files_and_urls_reloads_and_stops() {
    // An origin on its own runtime, serving one catalog and one stream.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    let remote = "#EXTM3U\n#EXTINF:-1 tvg-id=\"r1\",Remote One\nhttp://127.0.0.1:9/r1.ts\n";
    origin.route(
        "/catalog.m3u",
        Behavior::FileNoRanges {
            data: Arc::new(remote.as_bytes().to_vec()),
        },
    );
    let dir = std::env::temp_dir().join(format!("relay-engine-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("local.m3u");
    std::fs::write(
        &file,
        "#EXTM3U\n#EXTINF:-1,Local One\nhttp://127.0.0.1:9/l1.ts\n",
    )
    .unwrap();

    let mut config = Config::default();
    config.set("listen", "127.0.0.1:0").unwrap();
    config.set("catalog", file.to_str().unwrap()).unwrap();
    config.set("catalog", &origin.url("/catalog.m3u")).unwrap();
    config.set("catalog", &origin.url("/missing.m3u")).unwrap();
    config.set("shutdown-grace", "1s").unwrap();
    let engine = Engine::new(config).unwrap();
    let report = engine.reload();
    assert_eq!(report.channels, 2);
    assert_eq!(report.loaded, 2);
    assert_eq!(report.failed.len(), 1);
    assert!(report.failed[0].1.contains("404"), "{:?}", report.failed);

    let addr = engine.start().unwrap();
    assert_ne!(addr.port(), 0);
    assert_eq!(engine.local_addr(), Some(addr));
    assert!(engine.start().is_err(), "a second start is refused");
    let (status, body) = get(addr, "/playlist.m3u8");
    assert_eq!(status, 200);
    assert!(
        body.contains("Local One") && body.contains("Remote One"),
        "{body}"
    );

    // Ids survive a reload, and a reload picks up changes.
    let before = engine.shared().catalog().channels()[0].id.clone();
    std::fs::write(
        &file,
        "#EXTM3U\n#EXTINF:-1,New First\nhttp://127.0.0.1:9/n.ts\n#EXTINF:-1,Local One\nhttp://127.0.0.1:9/l1.ts\n",
    )
    .unwrap();
    let report = engine.reload();
    assert_eq!(report.channels, 3);
    let catalog = engine.shared().catalog();
    let local = catalog
        .channels()
        .iter()
        .find(|c| c.name() == "Local One")
        .unwrap();
    assert_eq!(local.id, before);

    // An embedder's own playlist replaces the catalog.
    let n = engine.load_m3u(
        "embedded",
        b"#EXTM3U\n#EXTINF:-1,Only\nhttp://127.0.0.1:9/o.ts\n",
    );
    assert_eq!(n, 1);
    let (_, body) = get(addr, "/api/channels");
    assert!(
        body.starts_with("{\"count\":1,") && body.contains("Only"),
        "{body}"
    );

    let stats = engine.stats_json();
    assert!(
        stats.starts_with("{\"version\":\"")
            && stats.contains(&format!(
                "\"running\":true,\"listen\":\"{addr}\",\"channels\":1,"
            ))
            && stats.contains("\"requests_total\":2,"),
        "{stats}"
    );
    engine.stop().unwrap();
    assert_eq!(engine.local_addr(), None);
    assert!(
        engine
            .stats_json()
            .contains("\"running\":false,\"listen\":null,")
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "the listener is closed after stop"
    );
    assert!(engine.stop().is_err());
    std::fs::remove_dir_all(&dir).unwrap();
    drop(origin);
}

#[test]
fn stop_cuts_open_streams_after_the_grace() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    // A live stream far longer than the test.
    origin.route(
        "/live",
        Behavior::Live {
            data: Arc::new(ts_packets(100_000)),
            piece: 1880,
            pause: std::time::Duration::from_millis(20),
        },
    );
    let mut config = Config::default();
    config.set("listen", "127.0.0.1:0").unwrap();
    config.set("shutdown-grace", "500ms").unwrap();
    let engine = Engine::new(config).unwrap();
    engine.load_m3u(
        "t",
        format!("#EXTINF:-1,Live\n{}\n", origin.url("/live")).as_bytes(),
    );
    let addr = engine.start().unwrap();
    let id = engine.shared().catalog().channels()[0].id.clone();
    let mut s = TcpStream::connect(addr).unwrap();
    write!(s, "GET /stream/{id}.ts HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut first = [0u8; 1024];
    let n = s.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    engine.stop().unwrap();
    // The stream ends (cut) instead of hanging.
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
}

#[test]
fn catalogs_refresh_on_their_own() {
    let dir = std::env::temp_dir().join(format!("relay-refresh-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.m3u");
    std::fs::write(&file, "#EXTINF:-1,First\nhttp://127.0.0.1:9/1.ts\n").unwrap();
    let mut config = Config::default();
    config.set("listen", "127.0.0.1:0").unwrap();
    config.set("catalog", file.to_str().unwrap()).unwrap();
    config.set("catalog-refresh", "100ms").unwrap();
    let engine = Engine::new(config).unwrap();
    assert_eq!(engine.reload().channels, 1);
    engine.start().unwrap();
    std::fs::write(
        &file,
        "#EXTINF:-1,First\nhttp://127.0.0.1:9/1.ts\n#EXTINF:-1,Second\nhttp://127.0.0.1:9/2.ts\n",
    )
    .unwrap();
    // Poll (bounded) until the refresh task has picked the change up.
    let mut seen = 0;
    for _ in 0..200 {
        seen = engine.shared().catalog().len();
        if seen == 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert_eq!(seen, 2, "the refresh picked up the new channel");
    engine.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hls_links_survive_a_restart_with_the_same_state_dir() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    origin.route(
        "/h/index.m3u8",
        Behavior::FileNoRanges {
            data: Arc::new(b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\ns.ts\n".to_vec()),
        },
    );
    origin.route(
        "/h/s.ts",
        Behavior::FileNoRanges {
            data: Arc::new(b"segment bytes".to_vec()),
        },
    );
    let state = std::env::temp_dir().join(format!("relay-state-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let catalog = format!("#EXTM3U\n#EXTINF:-1,H\n{}\n", origin.url("/h/index.m3u8"));
    let engine = |dir: Option<&std::path::Path>| {
        let mut c = Config::default();
        c.set("listen", "127.0.0.1:0").unwrap();
        if let Some(dir) = dir {
            c.set("state-dir", dir.to_str().unwrap()).unwrap();
        }
        let e = Engine::new(c).unwrap();
        e.load_m3u("test", catalog.as_bytes());
        let addr = e.start().unwrap();
        (e, addr)
    };
    let link = |addr, id: &str| {
        let (status, text) = get(addr, &format!("/stream/{id}.m3u8"));
        assert_eq!(status, 200, "{text}");
        let at = text.find("/r/").expect("a relay link");
        text[at..].lines().next().unwrap().to_string()
    };

    let (first, addr) = engine(Some(&state));
    let id = first.shared().catalog().channels()[0].id.clone();
    let old = link(addr, &id);
    first.stop().unwrap();
    drop(first);
    assert!(state.join("token.key").exists());

    // A new process with the same state dir accepts the old link...
    let (second, addr) = engine(Some(&state));
    assert_eq!(get(addr, &old), (200, "segment bytes".to_string()));
    second.stop().unwrap();
    // ...one without it (random secret) does not.
    let (third, addr) = engine(None);
    assert_eq!(get(addr, &old).0, 404);
    third.stop().unwrap();
    let _ = std::fs::remove_dir_all(&state);
}
