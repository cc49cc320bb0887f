//! The two pass-through paths, forced one after the other, give the same bytes: `splice(2)`
//! (Linux) and the pooled copy loop, for whole files, ranges (honoured by the upstream or cut out
//! by the relay), live bodies, cut bodies and chunked bodies (which always take the chunk loop).

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;

async fn fetch(relay: &Relay, path: &str, range: Option<&str>) -> Response {
    let range = range.map_or(String::new(), |r| format!("Range: {r}\r\n"));
    relay
        .request(&format!(
            "GET {path} HTTP/1.1\r\nHost: r\r\n{range}Connection: close\r\n\r\n"
        ))
        .await
}

#[tokio::test]
async fn splice_and_copy_paths_give_identical_bytes() {
    let origin = Origin::start().await;
    let file = Arc::new(file_bytes(3 * 1024 * 1024 + 17, 7));
    let live = Arc::new(ts_packets(20_000));
    origin.route(
        "/vod/film.mp4",
        Behavior::File {
            data: file.clone(),
            content_type: "video/mp4",
        },
    );
    origin.route(
        "/vod/plain.mkv",
        Behavior::FileNoRanges { data: file.clone() },
    );
    origin.route(
        "/live/ch",
        Behavior::Live {
            data: live.clone(),
            piece: 50_000,
            pause: Duration::from_millis(1),
        },
    );
    origin.route(
        "/live/chunked",
        Behavior::Chunked {
            data: live.clone(),
            piece: 10_000,
            finish: true,
        },
    );
    origin.route(
        "/vod/short.mp4",
        Behavior::ShortBody {
            data: Arc::new(file[..100_000].to_vec()),
            declared: 200_000,
        },
    );
    let list = format!(
        "#EXTM3U\n#EXTINF:-1,Film\n{}\n#EXTINF:-1,Plain\n{}\n#EXTINF:-1,Live\n{}\n#EXTINF:-1,Chunked\n{}\n#EXTINF:-1,Short\n{}\n",
        origin.url("/vod/film.mp4"),
        origin.url("/vod/plain.mkv"),
        origin.url("/live/ch"),
        origin.url("/live/chunked"),
        origin.url("/vod/short.mp4"),
    );
    let mut results = Vec::new();
    for path in ["splice", "copy"] {
        let mut config = test_config();
        config.set("relay-path", path).unwrap();
        config.set("share", "never").unwrap();
        let relay = Relay::start_with(config, &list).await;
        let film = format!("/stream/{}.mp4", relay.id("Film"));
        let plain = format!("/stream/{}.mkv", relay.id("Plain"));
        let mut got = Vec::new();

        let r = fetch(&relay, &film, None).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.body, *file, "{path}: whole file");
        got.push(r.body);

        let r = fetch(&relay, &film, Some("bytes=1000-2000999")).await;
        assert_eq!(r.status, 206);
        assert_eq!(r.body, file[1000..=2_000_999], "{path}: upstream range");
        got.push(r.body);

        // The upstream ignores ranges: the relay skips and limits itself.
        for (range, want) in [
            ("bytes=70000-1300000", &file[70_000..=1_300_000]),
            ("bytes=5-9", &file[5..=9]),
            ("bytes=-300000", &file[file.len() - 300_000..]),
            ("bytes=3000000-", &file[3_000_000..]),
        ] {
            let r = fetch(&relay, &plain, Some(range)).await;
            assert_eq!(r.status, 206, "{path} {range}");
            assert_eq!(r.body, want, "{path}: emulated {range}");
            got.push(r.body);
        }

        let r = fetch(&relay, &format!("/stream/{}.ts", relay.id("Live")), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body, *live, "{path}: live body");
        assert_eq!(r.end, End::Closed);
        got.push(r.body);

        let r = fetch(&relay, &format!("/stream/{}.ts", relay.id("Chunked")), None).await;
        assert_eq!(r.body, *live, "{path}: chunked body");
        got.push(r.body);

        let r = fetch(&relay, &format!("/stream/{}.mp4", relay.id("Short")), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.end, End::Reset, "{path}: a cut body is a reset");
        assert_eq!(r.body, file[..100_000], "{path}: cut body so far");
        got.push(r.body);

        results.push(got);
        relay.stop().await;
    }
    assert_eq!(results[0], results[1], "both paths, same bytes");
}
