//! The one table from file extension to what the relay does with it: the channel kind a catalog
//! URL becomes, the `Content-Type` a stream or HLS object is answered with, and the extensions
//! kept on relay URLs of HLS sub-resources.

use crate::proto::hls::Kind;

/// What kind of upstream a channel is, which decides how it is relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelKind {
    /// Live MPEG-TS over HTTP (also the default for URLs without a known extension).
    Ts,
    /// HLS (`.m3u8` / `.m3u` URL path).
    Hls,
    /// A file / VOD item (`.mp4`, `.mkv`, `.avi`, `.mov`, `.webm`, `.mp3`, `.aac`, ...).
    File,
}

impl ChannelKind {
    /// Classifies by the URL path's extension (case-insensitive, query ignored).
    ///
    /// `m3u8`/`m3u` → [`Hls`](Self::Hls); the container and audio extensions of [`TYPES`]
    /// marked `file` (`mp4`, `m4v`, `mkv`, `avi`, `mov`, `webm`, `mp3`, `aac`, `m4a`, `flac`,
    /// `ogg`, `wmv`, `flv`, `mpg`, `mpeg`) → [`File`](Self::File); `ts`, anything else, or no
    /// extension → [`Ts`](Self::Ts). A `|Header=...` suffix, the query and the fragment are
    /// ignored.
    pub fn from_url(url: &str) -> ChannelKind {
        let Some(ext) = url_extension(url) else {
            return ChannelKind::Ts;
        };
        if ext.eq_ignore_ascii_case("m3u8") || ext.eq_ignore_ascii_case("m3u") {
            ChannelKind::Hls
        } else if lookup(ext).is_some_and(|t| t.file) {
            ChannelKind::File
        } else {
            ChannelKind::Ts
        }
    }

    /// `"ts"`, `"hls"`, `"file"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Ts => "ts",
            ChannelKind::Hls => "hls",
            ChannelKind::File => "file",
        }
    }
}

/// One known extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaType {
    /// Lower-case extension without the dot.
    pub ext: &'static str,
    /// The `Content-Type` it is answered with (`None`: the HLS kind's own default, as for keys).
    pub mime: Option<&'static str>,
    /// A catalog URL with this extension is a file / VOD channel.
    pub file: bool,
    /// An HLS sub-resource keeps this extension on its relay URL.
    pub hls: bool,
}

const fn t(ext: &'static str, mime: &'static str, file: bool, hls: bool) -> MediaType {
    MediaType {
        ext,
        mime: Some(mime),
        file,
        hls,
    }
}

/// Every extension the relay knows.
pub const TYPES: &[MediaType] = &[
    t("ts", "video/mp2t", false, true),
    t("mpegts", "video/mp2t", false, true),
    t("mp4", "video/mp4", true, true),
    t("m4v", "video/mp4", true, true),
    t("m4s", "video/mp4", false, true),
    t("cmfv", "video/mp4", false, true),
    t("m4a", "audio/mp4", true, true),
    t("cmfa", "audio/mp4", false, true),
    t("mkv", "video/x-matroska", true, false),
    t("webm", "video/webm", true, false),
    t("avi", "video/x-msvideo", true, false),
    t("mov", "video/quicktime", true, false),
    t("wmv", "video/x-ms-wmv", true, false),
    t("flv", "video/x-flv", true, false),
    t("mpg", "video/mpeg", true, false),
    t("mpeg", "video/mpeg", true, false),
    t("mp3", "audio/mpeg", true, true),
    t("aac", "audio/aac", true, true),
    t("flac", "audio/flac", true, false),
    t("ogg", "audio/ogg", true, false),
    t("ac3", "audio/ac3", false, true),
    t("ec3", "audio/eac3", false, true),
    t("vtt", "text/vtt", false, true),
    t("webvtt", "text/vtt", false, true),
    t("cmft", "text/vtt", false, true),
    t("json", "application/json", false, true),
    t("jpg", "image/jpeg", false, true),
    t("jpeg", "image/jpeg", false, true),
    t("png", "image/png", false, true),
    MediaType {
        ext: "key",
        mime: None,
        file: false,
        hls: true,
    },
];

/// Upstream `Content-Type`s of HLS objects kept as they are (anything else is replaced by the
/// type of the extension or kind: IPTV servers label segments `text/html` or
/// `application/octet-stream`).
pub const HLS_KEPT_TYPES: &[&str] = &[
    "video/mp2t",
    "video/mp4",
    "audio/mp4",
    "audio/aac",
    "audio/mpeg",
    "text/vtt",
    "video/iso.segment",
    "application/json",
];

/// The entry for `ext` (case-insensitive).
pub fn lookup(ext: &str) -> Option<&'static MediaType> {
    TYPES.iter().find(|t| t.ext.eq_ignore_ascii_case(ext))
}

/// The extension of a URL's last path segment (query, fragment and any `|...` suffix ignored;
/// never part of the host), if it is a short alphanumeric one: `mkv` for `http://h/a/film.mkv?x`.
pub fn url_extension(url: &str) -> Option<&str> {
    let end = url.find(['|', '?', '#']).unwrap_or(url.len());
    let url = &url[..end];
    // The path starts after `scheme://authority`, if there is one.
    let path = match url.find("://") {
        Some(i) => url[i + 3..].find('/').map_or("", |p| &url[i + 3 + p..]),
        None => url,
    };
    let segment = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = segment.rsplit_once('.')?;
    let short_alnum = ext.len() <= 5 && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    (!ext.is_empty() && short_alnum).then_some(ext)
}

/// The `Content-Type` for a relayed stream of a `kind` channel at `url`: the upstream's when it
/// names a real media type (`video/*` or `audio/*`), else the type of a file extension, else
/// `video/mp2t` for TS channels (many IPTV servers send `application/octet-stream` or even
/// `text/html` for TS), else `application/octet-stream`.
pub fn stream_type(kind: ChannelKind, url: &str, upstream: Option<&str>) -> String {
    if let Some(ct) = upstream.map(str::trim) {
        let essence = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let specific = (essence.starts_with("video/") || essence.starts_with("audio/"))
            && !essence.contains(char::is_whitespace);
        if specific {
            return ct.to_string();
        }
    }
    let by_ext = url_extension(url)
        .and_then(lookup)
        .filter(|t| t.file || t.ext == "ts")
        .and_then(|t| t.mime);
    match by_ext {
        Some(mime) => mime,
        None if kind == ChannelKind::Ts => "video/mp2t",
        None => "application/octet-stream",
    }
    .to_string()
}

/// The extension of a relay URL naming an HLS object of `kind` at upstream `path`: the
/// upstream's when it is a known HLS extension, else the kind's usual one. Playlists are always
/// `m3u8` (players decide by it).
pub fn hls_extension(kind: Kind, path: &str) -> &'static str {
    if kind == Kind::Playlist {
        return "m3u8";
    }
    let known = url_extension(path)
        .and_then(lookup)
        .filter(|t| t.hls)
        .map(|t| t.ext);
    known.unwrap_or_else(|| kind.default_ext())
}

/// The `Content-Type` of an HLS object of `kind` at upstream `path`: the upstream's when it is
/// one of [`HLS_KEPT_TYPES`], else the type of its relay URL's extension, else the kind's usual
/// one. Keys are always `application/octet-stream`.
pub fn hls_type(kind: Kind, path: &str, upstream: Option<&str>) -> &'static str {
    if kind == Kind::Key {
        return kind.default_content_type();
    }
    let essence = upstream
        .and_then(|ct| ct.split(';').next())
        .map(|e| e.trim().to_ascii_lowercase());
    if let Some(kept) = HLS_KEPT_TYPES
        .iter()
        .find(|k| essence.as_deref() == Some(**k))
    {
        return kept;
    }
    lookup(hls_extension(kind, path))
        .and_then(|t| t.mime)
        .unwrap_or_else(|| kind.default_content_type())
}

/// What the first bytes of a body are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// Nothing arrived yet (an empty or very slow body).
    Nothing,
    /// MPEG-TS packets (sync bytes a packet apart).
    Ts,
    /// An HLS playlist (`#EXTM3U`): the channel is HLS whatever its URL says.
    HlsPlaylist,
    /// A text document: an HTML page ("account expired", a login form), JSON or XML.
    Text,
    /// Anything else (a radio stream, a container): relayed as it is.
    Other,
}

/// Classifies a body from its first bytes (a BOM and leading whitespace skipped for text).
pub fn sniff(first: &[u8]) -> Sniffed {
    if first.is_empty() {
        return Sniffed::Nothing;
    }
    if crate::proto::ts::looks_like_ts(first) {
        return Sniffed::Ts;
    }
    let text = first
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(first)
        .trim_ascii_start();
    if text.starts_with(b"#EXTM3U") {
        return Sniffed::HlsPlaylist;
    }
    let lower: Vec<u8> = text.iter().take(16).map(u8::to_ascii_lowercase).collect();
    let textual = lower.starts_with(b"<!doctype")
        || lower.starts_with(b"<html")
        || lower.starts_with(b"<?xml")
        || lower.starts_with(b"<head")
        || lower.starts_with(b"<body")
        || lower.starts_with(b"{")
        || lower.starts_with(b"[");
    if textual {
        Sniffed::Text
    } else {
        Sniffed::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for (url, kind) in [
            ("http://h/live/1.ts", ChannelKind::Ts),
            ("http://h/live/1", ChannelKind::Ts),
            ("http://h", ChannelKind::Ts),
            ("http://h.m3u8", ChannelKind::Ts),
            ("http://h/a.b/c", ChannelKind::Ts),
            ("http://h/play.php?f=x.m3u8", ChannelKind::Ts),
            ("http://h/x.M3U8?token=a.mp4", ChannelKind::Hls),
            ("http://h/x.m3u#frag.mp4", ChannelKind::Hls),
            ("http://h/x.m3u8|User-Agent=a.mp4", ChannelKind::Hls),
            ("http://h/movie.mkv", ChannelKind::File),
            ("https://h/a/song.FLAC", ChannelKind::File),
            ("http://h/v.mpeg?x", ChannelKind::File),
            ("/local/file.webm", ChannelKind::File),
            ("http://h/seg.m4s", ChannelKind::Ts),
            ("", ChannelKind::Ts),
        ] {
            assert_eq!(ChannelKind::from_url(url), kind, "{url}");
        }
        assert_eq!(ChannelKind::Ts.as_str(), "ts");
        assert_eq!(ChannelKind::Hls.as_str(), "hls");
        assert_eq!(ChannelKind::File.as_str(), "file");
    }

    #[test]
    fn bodies_are_told_apart_by_their_first_bytes() {
        let mut ts = vec![0u8; 2 * 188 + 1];
        ts[0] = 0x47;
        ts[188] = 0x47;
        ts[376] = 0x47;
        assert_eq!(sniff(&ts), Sniffed::Ts);
        assert_eq!(sniff(b""), Sniffed::Nothing);
        assert_eq!(
            sniff(b"\xEF\xBB\xBF\r\n#EXTM3U\n#EXT-X-VERSION:3"),
            Sniffed::HlsPlaylist
        );
        assert_eq!(
            sniff(b"  <!DOCTYPE html><html>Account expired"),
            Sniffed::Text
        );
        assert_eq!(sniff(b"<HTML><body>"), Sniffed::Text);
        assert_eq!(sniff(b"{\"error\":\"expired\"}"), Sniffed::Text);
        assert_eq!(sniff(b"ID3\x04\x00audio"), Sniffed::Other);
    }

    #[test]
    fn extensions() {
        assert_eq!(url_extension("http://h/a/movie.MKV?x=1"), Some("MKV"));
        assert_eq!(url_extension("http://h/a/live/123"), None);
        assert_eq!(url_extension("http://h/a.b/c"), None);
        assert_eq!(url_extension("http://provider.com"), None);
        assert_eq!(url_extension("http://h/x.ts|User-Agent=a.b"), Some("ts"));
    }

    #[test]
    fn stream_types() {
        let ts = ChannelKind::Ts;
        assert_eq!(
            stream_type(ts, "http://h/1", Some("text/html")),
            "video/mp2t"
        );
        assert_eq!(
            stream_type(ts, "http://h/1", Some("video/MP2T")),
            "video/MP2T"
        );
        assert_eq!(
            stream_type(ChannelKind::File, "http://h/a.mkv", None),
            "video/x-matroska"
        );
        assert_eq!(
            stream_type(ChannelKind::File, "http://h/a.mkv", Some("video/mp4 x")),
            "video/x-matroska"
        );
        assert_eq!(stream_type(ts, "http://h/a.m4s", None), "video/mp2t");
        assert_eq!(
            stream_type(ChannelKind::File, "http://h/a.bin", None),
            "application/octet-stream"
        );
    }

    #[test]
    fn hls_extensions_and_types() {
        assert_eq!(hls_extension(Kind::Playlist, "/x.php"), "m3u8");
        assert_eq!(hls_extension(Kind::Segment, "/seg1.TS"), "ts");
        assert_eq!(hls_extension(Kind::Segment, "/seg1.php"), "ts");
        assert_eq!(hls_extension(Kind::Segment, "/seg1.mkv"), "ts");
        assert_eq!(hls_extension(Kind::Map, "/init"), "mp4");
        assert_eq!(hls_extension(Kind::Part, "/p1.m4s"), "m4s");
        assert_eq!(
            hls_type(Kind::Segment, "/a.php", Some("text/html")),
            "video/mp2t"
        );
        assert_eq!(hls_type(Kind::Segment, "/a.m4s", None), "video/mp4");
        assert_eq!(hls_type(Kind::Segment, "/a.key", None), "video/mp2t");
        assert_eq!(
            hls_type(Kind::Key, "/k.key", Some("text/plain")),
            "application/octet-stream"
        );
        assert_eq!(
            hls_type(Kind::Segment, "/a", Some("video/MP2T; x=1")),
            "video/mp2t"
        );
    }
}
