//! A viewer that hangs up while its stream waits for a slow upstream is noticed at once: its
//! provider slot is free for the next client long before the upstream's next byte.

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn a_viewer_who_leaves_a_silent_stream_frees_its_slot_at_once() {
    let origin = Origin::start().await;
    // A packet, then 60 s of silence: without noticing the hang-up the relay would hold the slot
    // until it next writes, a minute later.
    origin.route(
        "/slow",
        Behavior::Live {
            data: Arc::new(ts_packets(50)),
            piece: 188,
            pause: Duration::from_secs(60),
        },
    );
    for (share, path) in [("never", "copy"), ("never", "splice"), ("auto", "auto")] {
        let mut config = test_config();
        config.set("source-max-connections", "1").unwrap();
        config.set("share", share).unwrap();
        config.set("relay-path", path).unwrap();
        config.set("upstream-idle-timeout", "120s").unwrap();
        let m3u = format!("#EXTM3U\n#EXTINF:-1,Slow\n{}\n", origin.url("/slow"));
        let relay = Relay::start_with(config, &m3u).await;
        let stream = format!("/stream/{}.ts", relay.id("Slow"));
        let (first, status, _) = open_viewer(relay.addr, &stream, "tv", None).await;
        assert_eq!(status, 200, "{share}/{path}");
        drop(first);
        // Another client (another User-Agent: no zapping reclaim) gets the slot within seconds.
        let mut answered = 0;
        for _ in 0..100 {
            let (viewer, status, _) = open_viewer(relay.addr, &stream, "phone", None).await;
            answered = status;
            drop(viewer);
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(answered, 200, "{share}/{path}: the slot stayed held");
        relay.stop().await;
    }
}
