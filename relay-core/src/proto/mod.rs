//! Sans-IO parsers and writers: bytes in, values (or bytes) out. Nothing in this room does I/O:
//! no tokio, no `std::net`, no `std::fs` (CI greps for them), so every parser here can be fuzzed,
//! benchmarked and called from C without a runtime.
//!
//! - [`http`]: HTTP/1.1 heads ([`http::RequestHead`], [`http::ResponseHead`]), chunked bodies,
//!   `Range`/`Content-Range`, head writing.
//! - [`uri`]: RFC 3986 references, resolution, percent coding.
//! - [`m3u`]: extended M3U playlists (IPTV catalogs), streaming parser and writer.
//! - [`hls`]: the lossless HLS playlist rewriter and its one-pass [`hls::Summary`].
//! - [`ts`]: MPEG-TS: packet alignment, random-access points, PSI and PES, and the splicer
//!   that keeps one output stream valid across source switches.
//! - [`json`]: the small JSON string writer and flat-object reader.
//! - [`base64`]: standard and URL-safe base64.
//! - [`xmltv`]: a streaming XMLTV reader in bounded memory (any encoding, dirty input) and a
//!   writer that validates against the XMLTV DTD; [`gzip`]: streaming gzip decoding.
//! - [`hdhr`]: HDHomeRun tuner emulation: device ids with their check digit, the discover and
//!   lineup bodies Plex and Jellyfin read.

pub mod base64;
pub mod gzip;
pub mod hdhr;
pub mod hls;
pub mod http;
pub mod json;
pub mod m3u;
pub mod ts;
pub mod uri;
pub mod xmltv;
