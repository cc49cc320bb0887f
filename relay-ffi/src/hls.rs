//! `relay_hls_rewrite`: the sans-IO HLS playlist rewriter, with a C function choosing each new
//! URI.

use crate::guard::{guard, in_bytes, in_str, out_buf};
use crate::result::{relay_result, relay_result_code};
use relay_core::proto::hls::{self, Kind, RewriteError};
use relay_core::proto::uri::{self, Uri};
use std::ffi::{c_char, c_void};

/// The size of the buffer a mapper writes into: the longest URI the relay handles
/// (`relay_core::proto::uri::MAX_URI_BYTES`).
pub const RELAY_HLS_MAX_URI_BYTES: usize = 8192;
/// The largest playlist `relay_hls_rewrite` accepts (16 MiB; `relay_core::proto::hls::MAX_PLAYLIST_BYTES`).
pub const RELAY_HLS_MAX_PLAYLIST_BYTES: usize = 16 * 1024 * 1024;
/// The longest playlist line `relay_hls_rewrite` accepts (64 KiB; `relay_core::proto::hls::MAX_LINE_BYTES`).
pub const RELAY_HLS_MAX_LINE_BYTES: usize = 64 * 1024;
/// The largest rewritten playlist `relay_hls_rewrite` produces (64 MiB;
/// `relay_core::proto::hls::MAX_OUTPUT_BYTES`).
pub const RELAY_HLS_MAX_OUTPUT_BYTES: usize = 64 * 1024 * 1024;
const _: () = assert!(RELAY_HLS_MAX_URI_BYTES == uri::MAX_URI_BYTES);
const _: () = assert!(RELAY_HLS_MAX_OUTPUT_BYTES == hls::MAX_OUTPUT_BYTES);
const _: () = assert!(RELAY_HLS_MAX_PLAYLIST_BYTES == hls::MAX_PLAYLIST_BYTES);
const _: () = assert!(RELAY_HLS_MAX_LINE_BYTES == hls::MAX_LINE_BYTES);

/// What a URI in a playlist names, decided by the tag that references it. The values are
/// stable.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum relay_hls_kind {
    /// A variant or rendition playlist (`#EXT-X-STREAM-INF`, `#EXT-X-MEDIA`, ...).
    Playlist = 1,
    /// A media segment.
    Segment = 2,
    /// A decryption key (`#EXT-X-KEY`, `#EXT-X-SESSION-KEY`).
    Key = 3,
    /// An initialisation section (`#EXT-X-MAP`).
    Map = 4,
    /// A partial segment or preload hint (`#EXT-X-PART`, `#EXT-X-PRELOAD-HINT`).
    Part = 5,
    /// Session data (`#EXT-X-SESSION-DATA`).
    Data = 6,
    /// A content steering manifest (`#EXT-X-CONTENT-STEERING`).
    Steering = 7,
}

impl From<Kind> for relay_hls_kind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::Playlist => relay_hls_kind::Playlist,
            Kind::Segment => relay_hls_kind::Segment,
            Kind::Key => relay_hls_kind::Key,
            Kind::Map => relay_hls_kind::Map,
            Kind::Part => relay_hls_kind::Part,
            Kind::Data => relay_hls_kind::Data,
            Kind::Steering => relay_hls_kind::Steering,
        }
    }
}

/// Chooses the URI written in place of one URI of a playlist. `uri` is `uri_len` bytes of the
/// original URI already resolved against the base URL (absolute, UTF-8, no NUL), valid only
/// during the call. The mapper writes the new URI (no NUL) into `out`, which has room for
/// `out_len` (= `RELAY_HLS_MAX_URI_BYTES`) bytes, sets `*out_n` to its length and returns
/// `RELAY_RESULT_OK`; any other return value stops the rewrite with
/// `RELAY_RESULT_HLS_MAPPER_FAILED`. Called on the thread that called `relay_hls_rewrite`.
pub type relay_uri_mapper = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        uri: *const c_char,
        uri_len: usize,
        out: *mut c_char,
        out_len: usize,
        out_n: *mut usize,
    ) -> relay_result_code,
>;

/// `relay_uri_mapper` with the kind of resource the URI names, for `relay_hls_rewrite_kind`.
pub type relay_uri_kind_mapper = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        kind: relay_hls_kind,
        uri: *const c_char,
        uri_len: usize,
        out: *mut c_char,
        out_len: usize,
        out_n: *mut usize,
    ) -> relay_result_code,
>;

/// Rewrites `playlist` with `map` choosing each new URI, into the caller's buffer.
///
/// # Safety
///
/// The pointers obey the contract of `relay_hls_rewrite`.
#[allow(clippy::too_many_arguments)]
unsafe fn rewrite(
    playlist: *const u8,
    len: usize,
    base_url: *const c_char,
    base_len: usize,
    out: *mut u8,
    out_len: usize,
    out_n: *mut usize,
    mut map: impl FnMut(Kind, &str, &mut [u8], &mut usize) -> relay_result_code,
) -> Result<(), relay_result> {
    // SAFETY: the caller's contract for every pointer.
    let (playlist, base, out) = unsafe {
        (
            in_bytes(playlist, len)?,
            in_str(base_url, base_len)?,
            out_buf(out, out_len, out_n)?,
        )
    };
    let base = Uri::parse(base).map_err(|_| relay_result::HlsBadBaseUrl)?;
    if !base.is_absolute() {
        return Err(relay_result::HlsBadBaseUrl);
    }
    let mut scratch = vec![0u8; RELAY_HLS_MAX_URI_BYTES];
    let mut rewritten = Vec::with_capacity(playlist.len() + playlist.len() / 2);
    let result = hls::rewrite(playlist, &base, &mut rewritten, |target| {
        let mut n = usize::MAX;
        let code = map(target.kind, target.uri.as_str(), &mut scratch, &mut n);
        if code != relay_result::Ok as u32 {
            return Err(relay_result::HlsMapperFailed);
        }
        let written = scratch.get(..n).ok_or(relay_result::HlsMapperBadUri)?;
        let fit = |&b: &u8| b > b' ' && b != 0x7f && b != b'"';
        if written.is_empty() || !written.iter().all(fit) {
            return Err(relay_result::HlsMapperBadUri);
        }
        String::from_utf8(written.to_vec()).map_err(|_| relay_result::HlsMapperBadUri)
    });
    match result {
        Ok(_) => out.write(&rewritten),
        Err(RewriteError::NotPlaylist) => Err(relay_result::HlsNotPlaylist),
        Err(RewriteError::TooLarge) => Err(relay_result::HlsTooLarge),
        Err(RewriteError::LineTooLong { .. }) => Err(relay_result::HlsLineTooLong),
        Err(RewriteError::BadUri { .. }) => Err(relay_result::HlsBadUri),
        Err(RewriteError::Map(r)) => Err(r),
    }
}

/// Rewrites an HLS playlist (multivariant or media, LL-HLS included): `mapper` is called once
/// per URI, in order (URI lines and the URI attributes of `EXT-X-KEY`, `EXT-X-MAP`,
/// `EXT-X-MEDIA`, `EXT-X-PART`, ...), with the URI resolved against `base_url` (the URL the
/// playlist was fetched from, after redirects); its answer replaces the URI. Only URIs that
/// resolve to `http`/`https` are mapped: others (`data:`, `skd://`) stay as written. Every other
/// byte is kept as it was (unknown tags, comments, line ends). The result goes into `out`
/// (`out_len` bytes, no NUL) and its length into `*out_n`.
///
/// A too-small `out` (NULL with `out_len` 0 is allowed) gives `RELAY_RESULT_INSUFFICIENT_SIZE`
/// with `*out_n` = the size needed; call again with that much room (the mapper is called again).
/// Other errors: `RELAY_RESULT_HLS_NOT_PLAYLIST`, `RELAY_RESULT_HLS_TOO_LARGE` (over
/// `RELAY_HLS_MAX_PLAYLIST_BYTES` in, or `RELAY_HLS_MAX_OUTPUT_BYTES` out), `RELAY_RESULT_HLS_LINE_TOO_LONG` (over
/// `RELAY_HLS_MAX_LINE_BYTES`), `RELAY_RESULT_HLS_BAD_URI` (a URI that does not parse, or a
/// replacement that cannot stand there), `RELAY_RESULT_HLS_BAD_BASE_URL`,
/// `RELAY_RESULT_HLS_MAPPER_FAILED`, `RELAY_RESULT_HLS_MAPPER_BAD_URI`,
/// `RELAY_RESULT_INVALID_UTF8` (`base_url`). Needs no engine; thread-safe (the mapper runs on
/// the calling thread, and may call any relay function).
///
/// # Safety
///
/// `playlist` is NULL (only with `len` 0) or valid for reads of `len` bytes; `base_url` likewise
/// for `base_len` bytes; `mapper` is NULL or a function of the `relay_uri_mapper` type, called
/// with `userdata`; `out` is NULL (only with `out_len` 0) or valid for writes of `out_len`
/// bytes; `out_n` is NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_hls_rewrite(
    playlist: *const u8,
    len: usize,
    base_url: *const c_char,
    base_len: usize,
    mapper: relay_uri_mapper,
    userdata: *mut c_void,
    out: *mut u8,
    out_len: usize,
    out_n: *mut usize,
) -> relay_result {
    guard(|| {
        let mapper = mapper.ok_or(relay_result::NullParameter)?;
        let map = |_: Kind, uri: &str, scratch: &mut [u8], n: &mut usize| {
            // SAFETY: `mapper` has this signature (the caller's contract); `uri` is valid for
            // its length and `scratch` for writes of its length during the call.
            unsafe {
                mapper(
                    userdata,
                    uri.as_ptr().cast(),
                    uri.len(),
                    scratch.as_mut_ptr().cast(),
                    scratch.len(),
                    n,
                )
            }
        };
        // SAFETY: the caller's contract, forwarded.
        unsafe { rewrite(playlist, len, base_url, base_len, out, out_len, out_n, map) }
    })
}

/// `relay_hls_rewrite` with a mapper that is also told what each URI names
/// (`relay_hls_kind`), e.g. to give segments and keys different routes.
///
/// # Safety
///
/// As for `relay_hls_rewrite`, with `mapper` of the `relay_uri_kind_mapper` type.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_hls_rewrite_kind(
    playlist: *const u8,
    len: usize,
    base_url: *const c_char,
    base_len: usize,
    mapper: relay_uri_kind_mapper,
    userdata: *mut c_void,
    out: *mut u8,
    out_len: usize,
    out_n: *mut usize,
) -> relay_result {
    guard(|| {
        let mapper = mapper.ok_or(relay_result::NullParameter)?;
        let map = |kind: Kind, uri: &str, scratch: &mut [u8], n: &mut usize| {
            // SAFETY: as in `relay_hls_rewrite`.
            unsafe {
                mapper(
                    userdata,
                    kind.into(),
                    uri.as_ptr().cast(),
                    uri.len(),
                    scratch.as_mut_ptr().cast(),
                    scratch.len(),
                    n,
                )
            }
        };
        // SAFETY: the caller's contract, forwarded.
        unsafe { rewrite(playlist, len, base_url, base_len, out, out_len, out_n, map) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    /// Maps every URI to `r/<n>` where n counts calls; records what it was given. A URI
    /// containing `fail` makes it fail; one containing `bad` makes it write a line break.
    unsafe extern "C" fn numbered(
        userdata: *mut c_void,
        kind: relay_hls_kind,
        uri: *const c_char,
        uri_len: usize,
        out: *mut c_char,
        out_len: usize,
        out_n: *mut usize,
    ) -> relay_result_code {
        // SAFETY: `userdata` is the test's Vec; `uri` is valid for `uri_len` bytes; `out` for
        // `out_len` bytes of writes; `out_n` for a write.
        unsafe {
            let seen = &mut *userdata.cast::<Vec<(relay_hls_kind, String)>>();
            let uri = std::slice::from_raw_parts(uri.cast::<u8>(), uri_len);
            let uri = String::from_utf8(uri.to_vec()).unwrap();
            let new = match () {
                _ if uri.contains("fail") => return 1,
                _ if uri.contains("bad") => "r/\nx".to_string(),
                _ => format!("r/{}", seen.len()),
            };
            seen.push((kind, uri));
            assert!(new.len() <= out_len);
            std::ptr::copy_nonoverlapping(new.as_ptr(), out.cast::<u8>(), new.len());
            *out_n = new.len();
        }
        0
    }

    fn run(
        playlist: &str,
        base: &str,
        out_len: usize,
    ) -> (relay_result, Vec<u8>, usize, Vec<(relay_hls_kind, String)>) {
        let mut seen: Vec<(relay_hls_kind, String)> = Vec::new();
        let mut out = vec![0u8; out_len];
        let mut n = 0usize;
        // SAFETY: every pointer is valid for the length given with it; `seen` lives for the call.
        let r = unsafe {
            relay_hls_rewrite_kind(
                playlist.as_ptr(),
                playlist.len(),
                base.as_ptr().cast(),
                base.len(),
                Some(numbered),
                (&mut seen as *mut Vec<(relay_hls_kind, String)>).cast(),
                out.as_mut_ptr(),
                out_len,
                &mut n,
            )
        };
        (r, out, n, seen)
    }

    const MEDIA: &str = "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\n/abs/seg2.ts?x=1\n#EXT-X-ENDLIST\n";
    const BASE: &str = "http://origin.test/live/index.m3u8";

    #[test]
    fn rewrites_with_resolved_uris_and_reports_the_size_needed() {
        let (r, _, needed, seen) = run(MEDIA, BASE, 10);
        assert_eq!(r, relay_result::InsufficientSize);
        assert_eq!(seen.len(), 2);
        let expected =
            "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nr/0\n#EXTINF:4,\nr/1\n#EXT-X-ENDLIST\n";
        assert_eq!(needed, expected.len());
        let (r, out, n, seen) = run(MEDIA, BASE, needed);
        assert_eq!(r, relay_result::Ok);
        assert_eq!(&out[..n], expected.as_bytes());
        assert_eq!(
            seen,
            [
                (
                    relay_hls_kind::Segment,
                    "http://origin.test/live/seg1.ts".to_string()
                ),
                (
                    relay_hls_kind::Segment,
                    "http://origin.test/abs/seg2.ts?x=1".to_string()
                ),
            ]
        );
    }

    #[test]
    fn attributes_are_mapped_with_their_kind_and_other_schemes_stay() {
        let playlist = "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"k.bin\",IV=0x1\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://x\"\n#EXTINF:4,\ns.m4s\n";
        let (r, out, n, seen) = run(playlist, BASE, 4096);
        assert_eq!(r, relay_result::Ok);
        assert_eq!(
            std::str::from_utf8(&out[..n]).unwrap(),
            "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128,URI=\"r/0\",IV=0x1\n#EXT-X-MAP:URI=\"r/1\"\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://x\"\n#EXTINF:4,\nr/2\n"
        );
        let kinds: Vec<_> = seen.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                relay_hls_kind::Key,
                relay_hls_kind::Map,
                relay_hls_kind::Segment
            ]
        );
        assert_eq!(seen[0].1, "http://origin.test/live/k.bin");
    }

    #[test]
    fn kind_values_are_the_core_codes() {
        for code in 1..=7 {
            let kind = Kind::from_code(code).unwrap();
            assert_eq!(relay_hls_kind::from(kind) as u32, u32::from(code));
        }
    }

    #[test]
    fn errors_are_results() {
        assert_eq!(
            run("not a playlist", BASE, 100).0,
            relay_result::HlsNotPlaylist
        );
        assert_eq!(
            run(MEDIA, "relative/only", 100).0,
            relay_result::HlsBadBaseUrl
        );
        let failing = "#EXTM3U\n#EXTINF:4,\nfail.ts\n";
        assert_eq!(run(failing, BASE, 100).0, relay_result::HlsMapperFailed);
        let bad = "#EXTM3U\n#EXTINF:4,\nbad.ts\n";
        assert_eq!(run(bad, BASE, 100).0, relay_result::HlsMapperBadUri);
        let mut n = 7usize;
        // SAFETY: NULLs are refused before use; `n` is valid.
        unsafe {
            let r = relay_hls_rewrite(
                null(),
                0,
                null(),
                0,
                None,
                null_mut(),
                null_mut(),
                0,
                &mut n,
            );
            assert_eq!(r, relay_result::NullParameter);
        }
        assert_eq!(n, 7, "outputs untouched on failure");
    }
}
