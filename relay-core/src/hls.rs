//! TEMPORARY stub (replaced by the rewriter being written in parallel): only `Kind`.

/// What a URI names, decided by the tag that references it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Playlist,
    Segment,
    Key,
    Map,
    Part,
    Data,
    Steering,
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Playlist => 1,
            Kind::Segment => 2,
            Kind::Key => 3,
            Kind::Map => 4,
            Kind::Part => 5,
            Kind::Data => 6,
            Kind::Steering => 7,
        }
    }
    pub fn from_code(code: u8) -> Option<Kind> {
        Some(match code {
            1 => Kind::Playlist,
            2 => Kind::Segment,
            3 => Kind::Key,
            4 => Kind::Map,
            5 => Kind::Part,
            6 => Kind::Data,
            7 => Kind::Steering,
            _ => return None,
        })
    }
    pub fn default_ext(self) -> &'static str {
        match self {
            Kind::Playlist => "m3u8",
            Kind::Segment => "ts",
            Kind::Key => "key",
            Kind::Map => "mp4",
            Kind::Part => "m4s",
            Kind::Data | Kind::Steering => "json",
        }
    }
    pub fn default_content_type(self) -> &'static str {
        match self {
            Kind::Playlist => "application/vnd.apple.mpegurl",
            Kind::Segment => "video/mp2t",
            Kind::Key => "application/octet-stream",
            Kind::Map | Kind::Part => "video/mp4",
            Kind::Data | Kind::Steering => "application/json",
        }
    }
}

use crate::uri::Uri;

pub const MAX_PLAYLIST_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug)]
pub struct Target<'a> {
    pub kind: Kind,
    pub uri: &'a Uri,
    pub raw: &'a str,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub master: bool,
    pub target_duration: Option<std::time::Duration>,
    pub endlist: bool,
    pub uris: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum RewriteError<E> {
    NotPlaylist,
    TooLarge,
    LineTooLong { line: usize },
    BadUri { line: usize },
    Map(E),
}

impl<E: std::fmt::Display> std::fmt::Display for RewriteError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RewriteError::NotPlaylist => f.write_str("not an HLS playlist"),
            RewriteError::TooLarge => f.write_str("playlist too large"),
            RewriteError::LineTooLong { line } => write!(f, "line {line} too long"),
            RewriteError::BadUri { line } => write!(f, "bad URI on line {line}"),
            RewriteError::Map(e) => e.fmt(f),
        }
    }
}

/// STUB: URI lines only.
pub fn rewrite<E>(
    input: &[u8],
    base: &Uri,
    out: &mut Vec<u8>,
    mut map: impl FnMut(&Target<'_>) -> Result<String, E>,
) -> Result<Summary, RewriteError<E>> {
    let text = std::str::from_utf8(input).map_err(|_| RewriteError::NotPlaylist)?;
    if !text.trim_start().starts_with("#EXTM3U") {
        return Err(RewriteError::NotPlaylist);
    }
    let mut summary = Summary::default();
    let mut variant = false;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let trimmed = line.trim();
        if trimmed.starts_with("#EXT-X-STREAM-INF") {
            variant = true;
            summary.master = true;
        }
        if let Some(t) = trimmed.strip_prefix("#EXT-X-TARGETDURATION:") {
            summary.target_duration = t.parse().ok().map(std::time::Duration::from_secs);
        }
        if trimmed == "#EXT-X-ENDLIST" {
            summary.endlist = true;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') {
            out.extend_from_slice(line.as_bytes());
            continue;
        }
        let uri = base
            .join(trimmed)
            .map_err(|_| RewriteError::BadUri { line: i + 1 })?;
        let kind = if std::mem::take(&mut variant) {
            Kind::Playlist
        } else {
            Kind::Segment
        };
        let new = map(&Target {
            kind,
            uri: &uri,
            raw: trimmed,
        })
        .map_err(RewriteError::Map)?;
        summary.uris += 1;
        out.extend_from_slice(new.as_bytes());
        out.extend_from_slice(&line.as_bytes()[line.trim_end().len()..]);
    }
    Ok(summary)
}
