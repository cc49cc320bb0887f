//! The event callback through the exported functions: a stream relayed to one viewer and a
//! shared channel report their viewers and upstreams with the viewer's address; the callback
//! survives stop and start; engine calls from inside it are refused; NULL clears it.

#![allow(unsafe_code)] // calling the C ABI is unsafe by nature; every call names its invariant.
#[path = "../../relay-core/tests/common/mod.rs"]
mod common;

use common::*;
use relay::config::*;
use relay::engine::*;
use relay::events::*;
use relay::result::relay_result;
use std::ffi::c_void;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// An event copied out of the callback.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rec {
    kind: relay_event_kind,
    channel: String,
    peer: String,
    bytes: u64,
    reason: String,
    shared: bool,
}

#[derive(Default)]
struct Seen {
    events: Mutex<Vec<Rec>>,
    /// What engine calls made from inside the callback returned.
    reentry: Mutex<Vec<relay_result>>,
    engine: AtomicPtr<relay_engine>,
}

/// Copies a text of an event.
///
/// # Safety
///
/// `p` is valid for `len` bytes (the callback's contract).
unsafe fn text(p: *const std::ffi::c_char, len: usize) -> String {
    assert!(!p.is_null(), "texts are never NULL");
    // SAFETY: the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    String::from_utf8(bytes.to_vec()).unwrap()
}

unsafe extern "C" fn collect(userdata: *mut c_void, event: *const relay_event) {
    // SAFETY: `userdata` is the `Seen` the test registered, alive while it is registered;
    // `event` and its texts are valid during this call.
    let (seen, e) = unsafe { (&*userdata.cast::<Seen>(), &*event) };
    // SAFETY: each text is valid for its length during this call.
    let rec = unsafe {
        Rec {
            kind: e.kind,
            channel: text(e.channel, e.channel_len),
            peer: text(e.peer, e.peer_len),
            bytes: e.bytes,
            reason: text(e.reason, e.reason_len),
            shared: e.shared,
        }
    };
    if rec.kind == relay_event_kind::ViewerConnected {
        let engine = seen.engine.load(Ordering::SeqCst);
        let mut n = 0;
        // SAFETY: `engine` is live while it runs (the test frees it after its last stop).
        let results = unsafe {
            [
                relay_engine_set_event_callback(engine, None, null_mut()),
                relay_engine_stats_json(engine, null_mut(), 0, &mut n),
                relay_engine_stop(engine),
            ]
        };
        seen.reentry.lock().unwrap().extend(results);
    }
    seen.events.lock().unwrap().push(rec);
}

fn new_engine(settings: &[(&str, &str)]) -> *mut relay_engine {
    let mut cfg = null_mut();
    let mut engine = null_mut();
    // SAFETY: every pointer is a valid place or a live object made just before; the engine
    // copies the config, so it may be freed at once.
    unsafe {
        assert_eq!(relay_config_new(&mut cfg), relay_result::Ok);
        for (k, v) in settings {
            let r = relay_config_set(cfg, k.as_ptr().cast(), k.len(), v.as_ptr().cast(), v.len());
            assert_eq!(r, relay_result::Ok, "{k} = {v}");
        }
        assert_eq!(relay_engine_new(cfg, &mut engine), relay_result::Ok);
        relay_config_free(cfg);
    }
    engine
}

fn local_addr(engine: *mut relay_engine) -> SocketAddr {
    let mut buf = [0u8; 64];
    let mut n = 0;
    // SAFETY: `engine` is live; `buf` is valid for its length; `n` is a valid place.
    let r = unsafe { relay_engine_local_addr(engine, buf.as_mut_ptr().cast(), buf.len(), &mut n) };
    assert_eq!(r, relay_result::Ok);
    std::str::from_utf8(&buf[..n]).unwrap().parse().unwrap()
}

/// A whole GET on its own connection: the client's address and the response.
fn fetch(relay: SocketAddr, path: &str) -> (SocketAddr, Response) {
    let mut s = std::net::TcpStream::connect(relay).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap(); // a safety net
    let local = s.local_addr().unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    (local, parse_response(&out, End::Closed).unwrap())
}

/// The events of one viewer with its own upstream, in their order.
fn own_stream(channel: &str, peer: SocketAddr, bytes: u64) -> Vec<Rec> {
    let rec = |kind, peer: &str, bytes, reason: &str| Rec {
        kind,
        channel: channel.to_string(),
        peer: peer.to_string(),
        bytes,
        reason: reason.to_string(),
        shared: false,
    };
    let peer = peer.to_string();
    vec![
        rec(relay_event_kind::UpstreamOpened, "", 0, ""),
        rec(relay_event_kind::ViewerConnected, &peer, 0, ""),
        rec(
            relay_event_kind::ViewerDisconnected,
            &peer,
            bytes,
            "complete",
        ),
        rec(relay_event_kind::UpstreamClosed, "", 0, "complete"),
    ]
}

#[test]
fn events_reach_the_callback_across_restarts() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let origin = rt.block_on(Origin::start());
    let file = Arc::new(ts_packets(500));
    origin.route("/file.ts", Behavior::FileNoRanges { data: file.clone() });
    let live = Arc::new(ts_packets(2000));
    origin.route(
        "/live.ts",
        Behavior::Live {
            data: live.clone(),
            piece: 188 * 100,
            pause: Duration::from_millis(1),
        },
    );
    let m3u = format!(
        "#EXTM3U\n#EXTINF:-1,File\n{}\n#EXTINF:-1,Live\n{}\n",
        origin.url("/file.ts"),
        origin.url("/live.ts")
    );
    let engine = new_engine(&[("listen", "127.0.0.1:0"), ("shutdown-grace", "1s")]);
    let seen = Box::new(Seen::default());
    seen.engine.store(engine, Ordering::SeqCst);
    let userdata = &*seen as *const Seen as *mut c_void;
    // SAFETY: NULL engine is refused before anything is used.
    let r = unsafe { relay_engine_set_event_callback(null_mut(), Some(collect), userdata) };
    assert_eq!(r, relay_result::NullParameter);
    // SAFETY: `engine` is live; `collect` is thread-safe and `seen` outlives the engine.
    let r = unsafe { relay_engine_set_event_callback(engine, Some(collect), userdata) };
    assert_eq!(r, relay_result::Ok, "set before the start");
    let mut n = 0;
    // SAFETY: `engine` is live; `m3u` is valid for its length; `n` is a valid place.
    let r = unsafe { relay_engine_load_m3u(engine, m3u.as_ptr(), m3u.len(), &mut n) };
    assert_eq!((r, n), (relay_result::Ok, 2));
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
    let addr = local_addr(engine);
    let (_, playlist) = fetch(addr, "/playlist.m3u8");
    let ids: Vec<String> = playlist
        .text()
        .lines()
        .filter_map(|l| l.split("/stream/").nth(1))
        .map(|rest| rest.split('.').next().unwrap().to_string())
        .collect();
    let (file_id, live_id) = (&ids[0], &ids[1]);

    // A file relayed to one viewer: all four events are in by the time its body ended.
    let (peer, resp) = fetch(addr, &format!("/stream/{file_id}.ts"));
    assert_eq!(resp.body, *file);
    let expected = own_stream(file_id, peer, file.len() as u64);
    assert_eq!(*seen.events.lock().unwrap(), expected);

    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_stop(engine) }, relay_result::Ok);
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
    let addr = local_addr(engine);

    // A live channel (shared): the callback survived the restart.
    let (peer, resp) = fetch(addr, &format!("/stream/{live_id}.ts"));
    assert_eq!(resp.body, *live);
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_stop(engine) }, relay_result::Ok);
    let events = seen.events.lock().unwrap().split_off(expected.len());
    let of = |kind| {
        let hits: Vec<&Rec> = events.iter().filter(|e| e.kind == kind).collect();
        assert_eq!(hits.len(), 1, "one {kind:?}: {events:#?}");
        assert!(hits[0].shared && hits[0].channel == *live_id, "{events:#?}");
        (events.iter().position(|e| e.kind == kind).unwrap(), hits[0])
    };
    let (opened, _) = of(relay_event_kind::UpstreamOpened);
    let (connected, c) = of(relay_event_kind::ViewerConnected);
    let (disconnected, d) = of(relay_event_kind::ViewerDisconnected);
    let (_, closed) = of(relay_event_kind::UpstreamClosed);
    assert_eq!(events.len(), 4, "{events:#?}");
    assert!(
        opened < connected && connected < disconnected,
        "{events:#?}"
    );
    assert_eq!(c.peer, peer.to_string());
    assert_eq!(
        (d.peer.as_str(), d.bytes),
        (c.peer.as_str(), live.len() as u64)
    );
    assert_eq!(d.reason, "complete");
    assert_eq!((closed.peer.as_str(), closed.bytes), ("", 0));
    assert_eq!(closed.reason, "complete");

    // Engine calls from inside the callback were refused, without deadlock.
    let reentry = seen.reentry.lock().unwrap().clone();
    assert_eq!(reentry.len(), 6, "three calls at each of two connects");
    assert!(
        reentry
            .iter()
            .all(|&r| r == relay_result::CalledFromCallback),
        "{reentry:?}"
    );

    // NULL clears it: another run reports nothing.
    // SAFETY: `engine` is live; NULL clears the callback.
    let r = unsafe { relay_engine_set_event_callback(engine, None, null_mut()) };
    assert_eq!(r, relay_result::Ok);
    // SAFETY: `engine` is live.
    assert_eq!(unsafe { relay_engine_start(engine) }, relay_result::Ok);
    let (_, resp) = fetch(local_addr(engine), &format!("/stream/{file_id}.ts"));
    assert_eq!(resp.status, 200);
    // SAFETY: `engine` is live and not used afterwards; freeing stops it.
    unsafe { relay_engine_free(engine) };
    assert_eq!(seen.events.lock().unwrap().len(), expected.len());
    drop(origin);
}
