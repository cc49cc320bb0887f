//! The exported functions called from Rust as C would call them: an engine on 127.0.0.1:0 with a
//! catalog whose channel points at an in-process origin; size queries, NULLs, restarts.

#![allow(unsafe_code)] // calling the C ABI is unsafe by nature; every call names its invariant.
#[path = "../../relay-core/tests/common/mod.rs"]
mod common;

use common::*;
use relay::config::*;
use relay::engine::*;
use relay::result::{relay_result, relay_result_describe};
use std::net::SocketAddr;
use std::ptr::{null, null_mut};
use std::sync::Arc;

fn new_config(settings: &[(&str, &str)]) -> *mut relay_config {
    let mut cfg = null_mut();
    // SAFETY: `cfg` is a valid place for the pointer.
    assert_eq!(unsafe { relay_config_new(&mut cfg) }, relay_result::Ok);
    for (k, v) in settings {
        // SAFETY: `cfg` is live; key and value point into live strings.
        let r = unsafe {
            relay_config_set(cfg, k.as_ptr().cast(), k.len(), v.as_ptr().cast(), v.len())
        };
        assert_eq!(r, relay_result::Ok, "{k} = {v}");
    }
    cfg
}

fn new_engine(settings: &[(&str, &str)]) -> *mut relay_engine {
    let cfg = new_config(settings);
    let mut engine = null_mut();
    // SAFETY: `cfg` is live; `engine` is a valid place; the engine copies the config, so
    // freeing it at once is allowed.
    unsafe {
        assert_eq!(relay_engine_new(cfg, &mut engine), relay_result::Ok);
        relay_config_free(cfg);
    }
    engine
}

/// Calls an export that fills a caller buffer, first as a size query, then with exactly that.
fn read_buf(
    f: impl Fn(*mut std::ffi::c_char, usize, *mut usize) -> relay_result,
) -> Result<String, relay_result> {
    let mut n = 0usize;
    match f(null_mut(), 0, &mut n) {
        relay_result::InsufficientSize => {}
        relay_result::Ok => return Ok(String::new()),
        other => return Err(other),
    }
    let mut buf = vec![0u8; n];
    let mut written = usize::MAX;
    assert_eq!(
        f(buf.as_mut_ptr().cast(), n, &mut written),
        relay_result::Ok
    );
    assert_eq!(written, n);
    Ok(String::from_utf8(buf).unwrap())
}

fn local_addr(engine: *mut relay_engine) -> Result<SocketAddr, relay_result> {
    // SAFETY: `engine` is live; `read_buf` passes a valid buffer and length.
    read_buf(|buf, len, n| unsafe { relay_engine_local_addr(engine, buf, len, n) })
        .map(|s| s.parse().unwrap())
}

fn stats(engine: *mut relay_engine) -> Result<String, relay_result> {
    // SAFETY: as for `local_addr`.
    read_buf(|buf, len, n| unsafe { relay_engine_stats_json(engine, buf, len, n) })
}

fn load(engine: *mut relay_engine, m3u: &str) -> Result<usize, relay_result> {
    let mut n = usize::MAX;
    // SAFETY: `engine` is live; `m3u` is valid for its length; `n` is a valid place.
    match unsafe { relay_engine_load_m3u(engine, m3u.as_ptr(), m3u.len(), &mut n) } {
        relay_result::Ok => Ok(n),
        other => Err(other),
    }
}

fn start(engine: *mut relay_engine) -> relay_result {
    // SAFETY: the tests pass only live engines.
    unsafe { relay_engine_start(engine) }
}

fn stop(engine: *mut relay_engine) -> relay_result {
    // SAFETY: the tests pass only live engines.
    unsafe { relay_engine_stop(engine) }
}

fn get(addr: SocketAddr, path: &str) -> Response {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let raw = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    rt.block_on(raw_request(addr, raw.as_bytes()))
}

/// The `/stream/...` path of the first channel in a relay playlist.
fn first_stream_path(playlist: &str) -> String {
    let url = playlist.lines().find(|l| l.contains("/stream/")).unwrap();
    url[url.find("/stream/").unwrap()..].to_string()
}

#[test]
fn engine_lifecycle_through_the_abi() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    let ts = Arc::new(ts_packets(500));
    origin.route("/live.ts", Behavior::FileNoRanges { data: ts.clone() });
    let m3u = format!(
        "#EXTM3U\n#EXTINF:-1 tvg-id=\"one\" group-title=\"News\",One\n{}\n",
        origin.url("/live.ts")
    );

    let engine = new_engine(&[("listen", "127.0.0.1:0"), ("shutdown-grace", "1s")]);
    assert_eq!(local_addr(engine), Err(relay_result::EngineNotRunning));
    assert_eq!(stats(engine), Err(relay_result::EngineNotRunning));
    assert_eq!(stop(engine), relay_result::EngineNotRunning);
    assert_eq!(
        load(engine, &m3u),
        Ok(1),
        "a catalog before the start is kept"
    );

    assert_eq!(start(engine), relay_result::Ok);
    assert_eq!(start(engine), relay_result::EngineAlreadyRunning);
    let addr = local_addr(engine).unwrap();
    assert_ne!(addr.port(), 0);

    let playlist = get(addr, "/playlist.m3u8");
    assert_eq!(playlist.status, 200);
    let playlist = playlist.text();
    assert!(playlist.contains("group-title=\"News\",One"), "{playlist}");
    let path = first_stream_path(&playlist);
    let stream = get(addr, &path);
    assert_eq!(stream.status, 200);
    assert_eq!(stream.body, *ts, "the stream is relayed byte for byte");

    let json = stats(engine).unwrap();
    assert!(
        json.contains(&format!(
            "\"running\":true,\"listen\":\"{addr}\",\"channels\":1,"
        )) && json.contains("\"requests_total\":2,"),
        "{json}"
    );

    // A catalog loaded while running replaces the old one at once.
    let two = format!("{m3u}#EXTINF:-1,Two\n{}\n", origin.url("/live.ts"));
    assert_eq!(load(engine, &two), Ok(2));
    assert!(get(addr, "/playlist.m3u8").text().contains(",Two"));

    assert_eq!(stop(engine), relay_result::Ok);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the port is closed"
    );
    assert_eq!(local_addr(engine), Err(relay_result::EngineNotRunning));
    let json = stats(engine).unwrap();
    assert!(
        json.contains("\"running\":false,\"listen\":null,\"channels\":2,")
            && json.contains("\"requests_total\":3,"),
        "the last run's counters: {json}"
    );

    // A restart serves the same catalog with the same ids, on a new port.
    assert_eq!(start(engine), relay_result::Ok);
    let addr2 = local_addr(engine).unwrap();
    let again = get(addr2, "/playlist.m3u8").text();
    assert_eq!(first_stream_path(&again), path);
    assert!(stats(engine).unwrap().contains("\"requests_total\":1,"));

    // Freeing a running engine stops it.
    // SAFETY: `engine` is live and not used afterwards.
    unsafe { relay_engine_free(engine) };
    assert!(std::net::TcpStream::connect(addr2).is_err());
    drop(origin);
}

#[test]
fn configured_catalogs_load_at_start_and_on_reload() {
    let dir = std::env::temp_dir().join(format!("relay-ffi-abi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("c.m3u");
    std::fs::write(&file, "#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.ts\n").unwrap();
    let missing = dir.join("missing.m3u");
    let engine = new_engine(&[
        ("listen", "127.0.0.1:0"),
        ("catalog", file.to_str().unwrap()),
        ("catalog", missing.to_str().unwrap()),
    ]);
    let (mut channels, mut failed) = (0usize, 0usize);
    // SAFETY: `engine` is live; the outputs are valid places.
    unsafe {
        assert_eq!(
            relay_engine_reload(engine, &mut channels, &mut failed),
            relay_result::EngineNotRunning
        );
        assert_eq!(relay_engine_start(engine), relay_result::Ok);
    }
    let addr = local_addr(engine).unwrap();
    assert!(get(addr, "/playlist.m3u8").text().contains(",A\n"));

    // An embedder's playlist replaces the sources until a reload brings them back.
    assert_eq!(
        load(engine, "#EXTM3U\n#EXTINF:-1,E\nhttp://127.0.0.1:9/e.ts\n"),
        Ok(1)
    );
    std::fs::write(
        &file,
        "#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.ts\n#EXTINF:-1,B\nhttp://127.0.0.1:9/b.ts\n",
    )
    .unwrap();
    // SAFETY: as above.
    let r = unsafe { relay_engine_reload(engine, &mut channels, &mut failed) };
    assert_eq!((r, channels, failed), (relay_result::Ok, 2, 1));
    let text = get(addr, "/playlist.m3u8").text();
    assert!(text.contains(",B\n") && !text.contains(",E\n"), "{text}");
    // SAFETY: `engine` is live and not used afterwards.
    unsafe { relay_engine_free(engine) };
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_busy_port_is_a_bind_error_and_the_engine_stays_usable() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = taken.local_addr().unwrap().to_string();
    let engine = new_engine(&[("listen", &listen)]);
    assert_eq!(start(engine), relay_result::EngineBindFailed);
    assert_eq!(local_addr(engine), Err(relay_result::EngineNotRunning));
    drop(taken);
    assert_eq!(start(engine), relay_result::Ok);
    // SAFETY: `engine` is live and not used afterwards.
    unsafe { relay_engine_free(engine) };
}

#[test]
fn null_pointers_are_refused_and_free_null_is_a_no_op() {
    let engine = new_engine(&[("listen", "127.0.0.1:0")]);
    let mut n = 0usize;
    let mut buf = [0u8; 8];
    // SAFETY: every non-NULL pointer below is valid; NULLs are refused before any use.
    unsafe {
        let nul = relay_result::NullParameter;
        assert_eq!(relay_engine_new(null(), &mut null_mut()), nul);
        let cfg = new_config(&[]);
        assert_eq!(relay_engine_new(cfg, null_mut()), nul);
        relay_config_free(cfg);
        assert_eq!(relay_engine_start(null_mut()), nul);
        assert_eq!(relay_engine_stop(null_mut()), nul);
        assert_eq!(relay_engine_local_addr(null(), null_mut(), 0, &mut n), nul);
        assert_eq!(
            relay_engine_local_addr(engine, null_mut(), 0, null_mut()),
            nul
        );
        assert_eq!(relay_engine_local_addr(engine, null_mut(), 5, &mut n), nul);
        assert_eq!(
            relay_engine_stats_json(null(), buf.as_mut_ptr().cast(), 8, &mut n),
            nul
        );
        assert_eq!(relay_engine_load_m3u(null_mut(), null(), 0, &mut n), nul);
        assert_eq!(relay_engine_load_m3u(engine, null(), 3, &mut n), nul);
        assert_eq!(relay_engine_load_m3u(engine, null(), 0, null_mut()), nul);
        assert_eq!(relay_engine_reload(null_mut(), &mut n, &mut n), nul);
        // The size is checked before the bytes are read (this pointer is never read).
        let too_big = RELAY_ENGINE_MAX_CATALOG_BYTES + 1;
        let r = relay_engine_load_m3u(engine, buf.as_ptr(), too_big, &mut n);
        assert_eq!(r, relay_result::EngineCatalogTooLarge);
        // An empty catalog is a catalog (NULL with length 0 is an empty view).
        assert_eq!(
            relay_engine_load_m3u(engine, null(), 0, &mut n),
            relay_result::Ok
        );
        assert_eq!(n, 0);
        relay_engine_free(null_mut());
        relay_config_free(null_mut());
        relay_engine_free(engine);
        let mut text = [0u8; 128];
        let len = relay_result_describe(nul as u32, text.as_mut_ptr().cast(), text.len());
        assert_eq!(&text[..len], b"a required pointer argument was NULL");
    }
}

#[test]
fn header_version_macros_match_the_crate() {
    let header =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../include/relay.h"))
            .unwrap();
    let macro_value = |name: &str| {
        let prefix = format!("#define {name} ");
        let line = header.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
        line.unwrap_or_else(|| panic!("{name} missing from relay.h"))
            .trim()
            .to_string()
    };
    assert_eq!(
        macro_value("RELAY_VERSION_MAJOR"),
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(
        macro_value("RELAY_VERSION_MINOR"),
        env!("CARGO_PKG_VERSION_MINOR")
    );
    assert_eq!(
        macro_value("RELAY_VERSION_PATCH"),
        env!("CARGO_PKG_VERSION_PATCH")
    );
    // Every export of the library is declared in the header (it is regenerated, not edited).
    for export in [
        "relay_engine_stats_json",
        "relay_hls_rewrite",
        "relay_set_log_callback",
    ] {
        assert!(
            header.contains(&format!(" {export}(")),
            "{export} missing from relay.h"
        );
    }
}

#[test]
fn one_engine_from_many_threads() {
    let engine = new_engine(&[("listen", "127.0.0.1:0"), ("shutdown-grace", "1s")]);
    /// The engine pointer, shared: the header promises every engine call is thread-safe.
    #[derive(Clone, Copy)]
    struct Shared(*mut relay_engine);
    // SAFETY: relay_engine is Send + Sync (asserted in the crate); the pointer stays live until
    // every thread is joined.
    unsafe impl Send for Shared {}
    let shared = Shared(engine);
    let m3u = "#EXTM3U\n#EXTINF:-1,T\nhttp://127.0.0.1:9/t.ts\n";
    let threads: Vec<_> = (0..4)
        .map(|i| {
            std::thread::spawn(move || {
                let engine = { shared }.0;
                for round in 0..20 {
                    match (i + round) % 4 {
                        0 => assert!(matches!(
                            start(engine),
                            relay_result::Ok | relay_result::EngineAlreadyRunning
                        )),
                        1 => assert!(matches!(
                            stop(engine),
                            relay_result::Ok | relay_result::EngineNotRunning
                        )),
                        2 => assert_eq!(load(engine, m3u), Ok(1)),
                        _ => {
                            let (mut buf, mut n) = ([0u8; 1024], 0usize);
                            let buf = buf.as_mut_ptr().cast();
                            // SAFETY: `engine` is live; `buf` holds 1024 bytes; `n` is valid.
                            let (a, s) = unsafe {
                                (
                                    relay_engine_local_addr(engine, buf, 1024, &mut n),
                                    relay_engine_stats_json(engine, buf, 1024, &mut n),
                                )
                            };
                            let fine = [relay_result::Ok, relay_result::EngineNotRunning];
                            assert!(fine.contains(&a) && fine.contains(&s), "{a:?} {s:?}");
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // SAFETY: `engine` is live and no other thread uses it any more.
    unsafe { relay_engine_free(engine) };
}

#[test]
fn a_running_engine_takes_a_new_config_and_its_sources() {
    let dir = std::env::temp_dir().join(format!("relay-abi-reconfigure-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let a = dir.join("a.m3u");
    let b = dir.join("b.m3u");
    std::fs::write(&a, "#EXTM3U\n#EXTINF:-1,A\nhttp://127.0.0.1:9/a.ts\n").unwrap();
    std::fs::write(&b, "#EXTM3U\n#EXTINF:-1,B\nhttp://127.0.0.1:9/b.ts\n").unwrap();
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let engine = new_engine(&[("listen", "127.0.0.1:0"), ("catalog", a)]);
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
    assert!(stats(engine).unwrap().contains("\"channels\":1"));
    let cfg = new_config(&[("listen", "127.0.0.1:1"), ("catalog", a)]);
    let text = format!("[[source]]\npath = {b:?}\n");
    let mut waiting = usize::MAX;
    // SAFETY: `cfg` and `engine` are live; `text` is valid for its length; `waiting` is a place.
    unsafe {
        assert_eq!(
            relay_config_load_toml(cfg, text.as_ptr().cast(), text.len()),
            relay_result::Ok
        );
        assert_eq!(
            relay_engine_reconfigure(engine, cfg, &mut waiting),
            relay_result::Ok
        );
    }
    assert_eq!(waiting, 1, "listen waits for a restart");
    let stats = stats(engine).unwrap();
    assert!(stats.contains("\"channels\":2"), "{stats}");
    assert_ne!(
        local_addr(engine).unwrap().port(),
        1,
        "still on its first address"
    );
    // SAFETY: NULLs are refused; both objects are freed once.
    unsafe {
        assert_eq!(
            relay_engine_reconfigure(engine, null(), &mut waiting),
            relay_result::NullParameter
        );
        relay_config_free(cfg);
        relay_engine_free(engine);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
