//! HLS rewriting never panics, and when it succeeds: the identity mapper gives the input back
//! byte for byte, and rewriting the output again finds the same URIs (same kinds, same count),
//! each of them now a relay URL.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::hls::{self, Kind, RewriteError};
use relay_core::proto::uri::Uri;

const RELAY: &str = "https://relay.test/r/";

fuzz_target!(|data: &[u8]| {
    let base = Uri::parse("https://origin.test/live/a/index.m3u8?s=1").unwrap();

    let mut kinds: Vec<Kind> = Vec::new();
    let mut out = Vec::new();
    let first = hls::rewrite(data, &base, &mut out, |t| {
        kinds.push(t.kind);
        Ok::<_, ()>(format!("{RELAY}{}.{}", kinds.len() - 1, t.kind.default_ext()))
    });
    let Ok(summary) = first else {
        return;
    };
    assert_eq!(summary.uris, kinds.len());

    // Identity: every byte kept. A raw value may not be writable back where it stood (a `"` in
    // an unquoted attribute value), which the rewriter refuses rather than alter the structure.
    let mut same = Vec::new();
    match hls::rewrite(data, &base, &mut same, |t| Ok::<_, ()>(t.raw.to_string())) {
        Ok(s) => {
            assert_eq!(same, data);
            assert_eq!(s, summary);
        }
        Err(RewriteError::BadUri { .. }) => {}
        Err(e) => panic!("identity mapper failed where the relay mapper did not: {e:?}"),
    }

    // Again over the output: only relay URLs are left to map.
    let mut again = Vec::new();
    let mut seen = 0;
    let second = hls::rewrite(&out, &base, &mut again, |t| {
        let want = format!("{RELAY}{seen}.{}", kinds[seen].default_ext());
        assert_eq!(t.raw, want);
        assert_eq!(t.kind, kinds[seen]);
        seen += 1;
        Ok::<_, ()>(t.raw.to_string())
    });
    match second {
        Ok(s) => {
            assert_eq!(s, summary);
            assert_eq!(again, out);
        }
        // Replacements may lengthen a line or the playlist past the limits.
        Err(RewriteError::LineTooLong { .. } | RewriteError::TooLarge) => {}
        Err(e) => panic!("output does not rewrite again: {e:?}"),
    }
});
