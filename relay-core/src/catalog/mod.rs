//! The catalog: channels with stable ids, groups, search; [`sources`] loads and reloads it.
//!
//! Ids: see [`channel_id`]. The same channel keeps its id across reloads and restarts.

pub mod sources;

pub use crate::media::{ChannelKind, url_extension};
use crate::proto::m3u::{Entry, Playlist};
use ring::digest;
use std::collections::HashMap;
use std::sync::Arc;

/// One channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    /// Stable id (see [`channel_id`]).
    pub id: String,
    /// Index of the source (catalog) it came from, in the order sources were given.
    pub source: usize,
    /// How the upstream is relayed, from the URL.
    pub kind: ChannelKind,
    /// Headers sent upstream (from the entry's request options).
    pub headers: Vec<(String, String)>,
    /// The full playlist entry (attributes, name, URL, options).
    pub entry: Entry,
}

impl Channel {
    /// The entry's title.
    pub fn name(&self) -> &str {
        &self.entry.name
    }
    /// The entry's group ([`Entry::group`]).
    pub fn group(&self) -> Option<&str> {
        self.entry.group()
    }
    /// The upstream URL (without request options).
    pub fn url(&self) -> &str {
        &self.entry.url
    }
}

/// A source as loaded: its label (the path or URL it was given as) and its parsed playlist.
#[derive(Debug, Clone)]
pub struct Source {
    /// The source's number, which its channels carry ([`Channel::source`]) and its provider
    /// slots are counted under; stays the same across reloads while the source is configured.
    pub id: usize,
    /// The path or URL the source was given as; part of every channel id.
    pub label: String,
    /// Headers for this source's streams (its `user-agent` and `headers`); a channel's own win.
    pub headers: Vec<(String, String)>,
    /// The parsed playlist.
    pub playlist: Playlist,
}

impl Source {
    /// Source `id` at `label` with `playlist`, no headers of its own.
    pub fn new(id: usize, label: &str, playlist: Playlist) -> Source {
        Source {
            id,
            label: label.to_string(),
            headers: Vec::new(),
            playlist,
        }
    }
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
    ///
    /// Should two channels still get the same id (the same source given twice, or a SHA-256
    /// prefix collision), the first is kept and the later one skipped.
    pub fn from_sources(sources: &[Source]) -> Catalog {
        Catalog::from_source_refs(&sources.iter().collect::<Vec<_>>())
    }

    /// [`Catalog::from_sources`] over borrowed sources.
    pub fn from_source_refs(sources: &[&Source]) -> Catalog {
        let mut catalog = Catalog::default();
        for &src in sources {
            for (name, value) in &src.playlist.header_attrs {
                if !catalog
                    .header_attrs
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(name))
                {
                    catalog.header_attrs.push((name.clone(), value.clone()));
                }
            }
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for entry in &src.playlist.entries {
                if entry.url.trim().is_empty() {
                    continue;
                }
                let n = seen.entry(id_key(entry)).or_default();
                let id = channel_id(&src.label, entry, *n);
                *n += 1;
                if catalog.by_id.contains_key(&id) {
                    continue;
                }
                catalog.by_id.insert(id.clone(), catalog.channels.len());
                catalog.channels.push(Arc::new(Channel {
                    id,
                    source: src.id,
                    kind: ChannelKind::from_url(&entry.url),
                    headers: merge_headers(&src.headers, entry.upstream_headers()),
                    entry: entry.clone(),
                }));
            }
        }
        catalog
    }
    /// Number of channels.
    pub fn len(&self) -> usize {
        self.channels.len()
    }
    /// No channels at all.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }
    /// The channel with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<Channel>> {
        self.by_id.get(id).map(|&i| &self.channels[i])
    }
    /// Channels in catalog order.
    pub fn channels(&self) -> &[Arc<Channel>] {
        &self.channels
    }
    /// The merged `#EXTM3U` attributes of all sources.
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
        let q = q.map(str::to_lowercase);
        let group = group.map(str::to_lowercase);
        self.channels.iter().filter(move |c| {
            let name_matches = q.as_deref().is_none_or(|q| {
                c.name().to_lowercase().contains(q)
                    || c.entry
                        .attr("tvg-name")
                        .is_some_and(|n| n.to_lowercase().contains(q))
            });
            let group_matches = group
                .as_deref()
                .is_none_or(|g| c.group().is_some_and(|cg| cg.to_lowercase() == g));
            name_matches && group_matches
        })
    }
    /// Groups in order of first appearance, with channel counts. Group names that differ only
    /// in case are one group (as in [`search`](Self::search)), shown as first spelled; channels
    /// without a group are not counted.
    pub fn groups(&self) -> Vec<(&str, usize)> {
        let mut groups: Vec<(&str, usize)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for group in self.channels.iter().filter_map(|c| c.group()) {
            let i = *index.entry(group.to_lowercase()).or_insert_with(|| {
                groups.push((group, 0));
                groups.len() - 1
            });
            groups[i].1 += 1;
        }
        groups
    }
}

/// A channel's upstream headers: its source's, then its own, a name given by both taking the
/// channel's value.
fn merge_headers(source: &[(String, String)], own: Vec<(String, String)>) -> Vec<(String, String)> {
    if source.is_empty() {
        return own;
    }
    let mut out: Vec<(String, String)> = source
        .iter()
        .filter(|(n, _)| !own.iter().any(|(o, _)| o.eq_ignore_ascii_case(n)))
        .cloned()
        .collect();
    out.extend(own);
    out
}

/// The key a channel id is derived from: the trimmed `tvg-id`, else the trimmed name, else the
/// URL.
fn id_key(entry: &Entry) -> &str {
    [entry.attr("tvg-id").unwrap_or(""), &entry.name]
        .into_iter()
        .map(str::trim)
        .find(|k| !k.is_empty())
        .unwrap_or(&entry.url)
}

/// The stable id of a channel: lower-case hex of the first 8 bytes of SHA-256 over
/// `source label \0 key \0 n`, where key is the `tvg-id` if present, else the name, and n counts
/// earlier entries of the same source with the same key (so duplicates stay distinct and
/// deterministic).
///
/// Precisely: key is the trimmed `tvg-id` if not empty, else the trimmed name if not empty, else
/// the URL; n is written in decimal and counts the entries [`Catalog::from_sources`] kept (those
/// with a URL). An id does not change when the URL changes (given a key other than the URL) nor
/// when channels with other keys come and go.
pub fn channel_id(source_label: &str, entry: &Entry, n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(source_label.as_bytes());
    ctx.update(b"\0");
    ctx.update(id_key(entry).as_bytes());
    ctx.update(b"\0");
    ctx.update(n.to_string().as_bytes());
    let hash = ctx.finish();
    let mut id = String::with_capacity(16);
    for &b in &hash.as_ref()[..8] {
        id.push(char::from(HEX[usize::from(b >> 4)]));
        id.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::m3u::parse;

    fn source(label: &str, text: &str) -> Source {
        // Ids as a configuration gives them: in order.
        let id = usize::from(label != "a.m3u");
        Source::new(id, label, parse(text.as_bytes()))
    }

    fn ids(catalog: &Catalog) -> Vec<&str> {
        catalog.channels().iter().map(|c| c.id.as_str()).collect()
    }

    fn names<'a>(channels: impl Iterator<Item = &'a Arc<Channel>>) -> Vec<&'a str> {
        channels.map(|c| c.name()).collect()
    }

    const NEWS: &str = "#EXTM3U url-tvg=\"http://epg/1.xml\"\n\
        #EXTINF:-1 tvg-id=\"cnn.us\" tvg-name=\"CNN Intl\" group-title=\"News\",CNN\n\
        http://up/cnn.ts\n\
        #EXTINF:-1 group-title=\"Sports\",ESPN\n\
        http://up/espn.m3u8\n\
        #EXTINF:-1 group-title=\"news\",Dup\n\
        http://up/dup1\n\
        #EXTINF:-1,Dup\n\
        http://up/dup2\n\
        #EXTINF:-1 tvg-name=\"Movie Night\",Film\n\
        http://up/film.MP4?token=1\n";

    #[test]
    fn channels_carry_kind_headers_and_source() {
        let catalog = Catalog::from_sources(&[
            source("a.m3u", NEWS),
            source(
                "b.m3u",
                "#EXTINF:-1,B\n#EXTVLCOPT:http-user-agent=UA\nhttp://b/x.m3u8|Referer=r\n",
            ),
        ]);
        assert_eq!(catalog.len(), 6);
        assert!(!catalog.is_empty());
        let b = &catalog.channels()[5];
        assert_eq!(
            (b.source, b.kind, b.url()),
            (1, ChannelKind::Hls, "http://b/x.m3u8")
        );
        assert_eq!(
            b.headers,
            vec![
                ("User-Agent".to_owned(), "UA".to_owned()),
                ("Referer".to_owned(), "r".to_owned())
            ]
        );
        assert_eq!(catalog.get(&b.id).map(|c| c.name()), Some("B"));
        assert!(catalog.get("0000000000000000").is_none());
        assert!(Catalog::default().is_empty());
    }

    #[test]
    fn ids_are_stable() {
        let catalog = Catalog::from_sources(&[source("a.m3u", NEWS)]);
        let first = ids(&catalog);
        assert!(first.iter().all(|id| {
            id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        }));
        assert_eq!(ids(&Catalog::from_sources(&[source("a.m3u", NEWS)])), first);
        // Duplicate names stay distinct: n counts earlier entries with the same key.
        let entries = &catalog.channels()[2..4];
        assert_ne!(entries[0].id, entries[1].id);
        assert_eq!(entries[1].id, channel_id("a.m3u", &entries[1].entry, 1));
        // Another label, other ids.
        let other = Catalog::from_sources(&[source("b.m3u", NEWS)]);
        assert!(ids(&other).iter().all(|id| !first.contains(id)));
    }

    #[test]
    fn ids_survive_url_changes_and_new_channels() {
        let cnn = "#EXTINF:-1 tvg-id=\" cnn.us \",CNN\nhttp://up/cnn.ts\n";
        let id = |text: &str, name: &str| {
            let catalog = Catalog::from_sources(&[source("a.m3u", text)]);
            let channel = catalog
                .channels()
                .iter()
                .find(|c| c.name() == name)
                .cloned();
            channel.map(|c| c.id.clone())
        };
        let before = id(cnn, "CNN");
        assert!(before.is_some());
        assert_eq!(id(&cnn.replace("cnn.ts", "cnn2.m3u8"), "CNN"), before);
        // A renamed channel keeps its id when it has a tvg-id.
        assert_eq!(id(&cnn.replace(",CNN", ",CNN HD"), "CNN HD"), before);
        let added =
            format!("#EXTINF:-1,Other\nhttp://o\n#EXTINF:-1 tvg-id=\"x\",X\nhttp://x\n{cnn}");
        assert_eq!(id(&added, "CNN"), before);
        // Trimmed keys: " cnn.us " and "cnn.us" are the same key.
        assert_eq!(id(&cnn.replace("\" cnn.us \"", "cnn.us"), "CNN"), before);
        // Without tvg-id the name is the key; without both, the URL.
        let by_name = id("#EXTINF:-1,Name\nhttp://1\n", "Name");
        assert_eq!(id("#EXTINF:-1,Name\nhttp://2\n", "Name"), by_name);
        let by_url = id("http://1\n", "");
        assert_ne!(id("http://2\n", ""), by_url);
    }

    #[test]
    fn skips_entries_without_url_and_colliding_ids() {
        let mut no_url = source("a.m3u", NEWS);
        no_url.playlist.entries.insert(
            0,
            Entry {
                name: "CNN".into(),
                url: " ".into(),
                ..Entry::default()
            },
        );
        let catalog = Catalog::from_sources(&[no_url]);
        assert_eq!(catalog.len(), 5);
        assert_eq!(
            ids(&catalog),
            ids(&Catalog::from_sources(&[source("a.m3u", NEWS)]))
        );
        // The same source twice: every id collides, the first copy is kept.
        let twice = Catalog::from_sources(&[source("a.m3u", NEWS), source("a.m3u", NEWS)]);
        assert_eq!(twice.len(), 5);
        assert!(twice.channels().iter().all(|c| c.source == 0));
    }

    #[test]
    fn header_attrs_first_source_wins() {
        let catalog = Catalog::from_sources(&[
            source("a", "#EXTM3U url-tvg=\"1\"\n"),
            source("b", "#EXTM3U URL-TVG=\"2\" tvg-shift=\"1\"\n"),
        ]);
        let want =
            [("url-tvg", "1"), ("tvg-shift", "1")].map(|(k, v)| (k.to_owned(), v.to_owned()));
        assert_eq!(catalog.header_attrs(), want);
    }

    #[test]
    fn search() {
        let catalog = Catalog::from_sources(&[source("a.m3u", NEWS)]);
        assert_eq!(names(catalog.search(None, None)).len(), 5);
        assert_eq!(names(catalog.search(Some("cnn"), None)), ["CNN"]);
        // tvg-name matches too.
        assert_eq!(names(catalog.search(Some("INTL"), None)), ["CNN"]);
        assert_eq!(names(catalog.search(Some("night"), None)), ["Film"]);
        assert_eq!(names(catalog.search(None, Some("NEWS"))), ["CNN", "Dup"]);
        assert_eq!(names(catalog.search(Some("dup"), Some("news"))), ["Dup"]);
        assert_eq!(
            names(catalog.search(Some("espn"), Some("News"))),
            Vec::<&str>::new()
        );
        assert_eq!(names(catalog.search(Some(""), None)).len(), 5);
    }

    #[test]
    fn search_lowercases_unicode() {
        let catalog = Catalog::from_sources(&[source(
            "a",
            "#EXTINF:-1 group-title=\"ÉMISSIONS\",ÖRF Eins\nhttp://orf\n",
        )]);
        assert_eq!(
            names(catalog.search(Some("örf"), Some("émissions"))),
            ["ÖRF Eins"]
        );
    }

    #[test]
    fn groups() {
        let catalog = Catalog::from_sources(&[source("a.m3u", NEWS)]);
        assert_eq!(catalog.groups(), [("News", 2), ("Sports", 1)]);
        assert!(Catalog::default().groups().is_empty());
    }

    #[test]
    fn source_headers_apply_unless_the_channel_sets_its_own() {
        let mut src = source(
            "a.m3u",
            "#EXTINF:-1,A\n#EXTVLCOPT:http-user-agent=Own\nhttp://a\n#EXTINF:-1,B\nhttp://b\n",
        );
        src.headers = vec![
            ("User-Agent".into(), "Source".into()),
            ("Referer".into(), "http://r/".into()),
        ];
        let catalog = Catalog::from_sources(&[src]);
        let h = |i: usize| catalog.channels()[i].headers.clone();
        let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            h(0),
            [pair("Referer", "http://r/"), pair("User-Agent", "Own")]
        );
        assert_eq!(
            h(1),
            [pair("User-Agent", "Source"), pair("Referer", "http://r/")]
        );
    }
}
