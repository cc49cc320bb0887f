//! The catalog: channels with stable ids, groups, search.
//!
//! Ids: see [`channel_id`]. The same channel keeps its id across reloads and restarts.

use crate::m3u::{Entry, Playlist};
use std::collections::HashMap;
use std::sync::Arc;

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
    pub fn from_url(url: &str) -> ChannelKind {
        let _ = url;
        todo!()
    }
    /// `"ts"`, `"hls"`, `"file"`.
    pub fn as_str(self) -> &'static str {
        todo!()
    }
}

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Stable id (see [`channel_id`]).
    pub id: String,
    /// Index of the source (catalog) it came from, in the order sources were given.
    pub source: usize,
    pub kind: ChannelKind,
    /// Headers sent upstream (from the entry's request options).
    pub headers: Vec<(String, String)>,
    /// The full playlist entry (attributes, name, URL, options).
    pub entry: Entry,
}

impl Channel {
    pub fn name(&self) -> &str {
        &self.entry.name
    }
    pub fn group(&self) -> Option<&str> {
        self.entry.group()
    }
    pub fn url(&self) -> &str {
        &self.entry.url
    }
}

/// A source as loaded: its label (the path or URL it was given as) and its parsed playlist.
#[derive(Debug, Clone)]
pub struct Source {
    pub label: String,
    pub playlist: Playlist,
}

/// All channels of all sources.
#[derive(Debug, Default)]
pub struct Catalog {
    channels: Vec<Arc<Channel>>,
    by_id: HashMap<String, usize>,
    header_attrs: Vec<(String, String)>,
}

impl Catalog {
    /// Builds the catalog; entries without a URL are skipped. Header attributes of all sources
    /// are merged (first source wins per name).
    pub fn from_sources(sources: &[Source]) -> Catalog {
        let _ = sources;
        todo!()
    }
    pub fn len(&self) -> usize {
        self.channels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }
    pub fn get(&self, id: &str) -> Option<&Arc<Channel>> {
        self.by_id.get(id).map(|&i| &self.channels[i])
    }
    /// Channels in catalog order.
    pub fn channels(&self) -> &[Arc<Channel>] {
        &self.channels
    }
    pub fn header_attrs(&self) -> &[(String, String)] {
        &self.header_attrs
    }
    /// Channels whose name (or tvg-name) contains `q` and whose group equals `group`; both
    /// case-insensitive (Unicode lower-casing), either may be absent.
    pub fn search<'a>(
        &'a self,
        q: Option<&'a str>,
        group: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<Channel>> + 'a {
        let _ = (q, group);
        self.channels.iter()
    }
    /// Groups in order of first appearance, with channel counts.
    pub fn groups(&self) -> Vec<(&str, usize)> {
        todo!()
    }
}

/// The stable id of a channel: lower-case hex of the first 8 bytes of SHA-256 over
/// `source label \0 key \0 n`, where key is the `tvg-id` if present, else the name, and n counts
/// earlier entries of the same source with the same key (so duplicates stay distinct and
/// deterministic).
pub fn channel_id(source_label: &str, entry: &Entry, n: usize) -> String {
    let _ = (source_label, entry, n);
    todo!()
}
