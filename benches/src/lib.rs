//! Inputs shared by the benchmarks in `benches/`.

/// Groups the sample channels are spread over.
const GROUPS: [&str; 8] = [
    "News",
    "Sports",
    "Movies",
    "Kids",
    "Documentaries",
    "Music",
    "Entertainment",
    "International | FR",
];

/// A realistic IPTV catalog of `channels` entries, the same on every call: `#EXTINF` with
/// `tvg-id`, `tvg-name`, `tvg-logo` and `group-title`, an `#EXTVLCOPT` user agent on every
/// fifth entry and a referrer on every tenth, provider-style URLs of about 80 bytes.
pub fn sample_playlist(channels: usize) -> Vec<u8> {
    use std::fmt::Write;
    let mut out = String::with_capacity(channels * 300);
    out.push_str("#EXTM3U url-tvg=\"http://epg.example.com/guide.xml.gz\" tvg-shift=\"0\"\n");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for i in 0..channels {
        let group = GROUPS[i % GROUPS.len()];
        let hd = if rng.next().is_multiple_of(3) {
            " HD"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "#EXTINF:-1 tvg-id=\"channel{i}.example\" tvg-name=\"Channel {i}{hd}\" \
             tvg-logo=\"https://logos.example.com/img/{:08x}.png\" group-title=\"{group}\",\
             {group}: Channel {i}{hd}",
            rng.next() & 0xffff_ffff,
        );
        if i % 5 == 0 {
            out.push_str(
                "#EXTVLCOPT:http-user-agent=Mozilla/5.0 (Windows NT 10.0; Win64; x64) \
                 AppleWebKit/537.36\n",
            );
        }
        if i % 10 == 0 {
            out.push_str("#EXTVLCOPT:http-referrer=https://portal.example.com/\n");
        }
        let _ = writeln!(
            out,
            "http://iptv-provider.example.net:8080/live/user{:06}/{:010x}/{}.ts",
            rng.next() % 1_000_000,
            rng.next() & 0xff_ffff_ffff,
            100_000 + i,
        );
    }
    out.into_bytes()
}

/// A live-style HLS media playlist of `segments` segments with relative URIs, the same on every
/// call: `#EXT-X-TARGETDURATION`, an AES-128 `#EXT-X-KEY` rotated every 100 segments,
/// `#EXT-X-PROGRAM-DATE-TIME` every 10, and `#EXTINF` + a relative segment name of about 40 bytes.
pub fn sample_media_playlist(segments: usize) -> Vec<u8> {
    use std::fmt::Write;
    let mut out = String::with_capacity(segments * 70 + 200);
    out.push_str(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1000\n",
    );
    for i in 0..segments {
        if i % 100 == 0 {
            let _ = writeln!(
                out,
                "#EXT-X-KEY:METHOD=AES-128,URI=\"../keys/key{}.bin?v=2\",IV=0x{:032x}",
                i / 100,
                1000 + i
            );
        }
        if i % 10 == 0 {
            let _ = writeln!(
                out,
                "#EXT-X-PROGRAM-DATE-TIME:2024-05-01T12:{:02}:{:02}.000Z",
                (i / 10) % 60,
                (i * 6) % 60
            );
        }
        let _ = writeln!(out, "#EXTINF:6.006,\nmedia_b2500000_{}.ts", 1000 + i);
    }
    out.push_str("#EXT-X-ENDLIST\n");
    out.into_bytes()
}

/// A multivariant HLS playlist, the same on every call: session key and data, 4 audio
/// renditions, 8 variants with I-frame playlists, relative and absolute URIs.
pub fn sample_master_playlist() -> Vec<u8> {
    use std::fmt::Write;
    let mut out = String::with_capacity(4096);
    out.push_str("#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    out.push_str("#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"keys/session.key\"\n");
    out.push_str("#EXT-X-SESSION-DATA:DATA-ID=\"com.example.title\",URI=\"meta/title.json\"\n");
    for (i, lang) in ["en", "fr", "de", "es"].iter().enumerate() {
        let _ = writeln!(
            out,
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aac\",LANGUAGE=\"{lang}\",NAME=\"Audio {lang}\",\
             DEFAULT={},AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio/{lang}/prog_index.m3u8\"",
            if i == 0 { "YES" } else { "NO" }
        );
    }
    for (i, (w, h)) in [
        (416, 234),
        (640, 360),
        (768, 432),
        (960, 540),
        (1280, 720),
        (1920, 1080),
        (2560, 1440),
        (3840, 2160),
    ]
    .iter()
    .enumerate()
    {
        let bw = 145_000 * (i + 1) * (i + 1);
        let _ = writeln!(
            out,
            "#EXT-X-STREAM-INF:BANDWIDTH={bw},AVERAGE-BANDWIDTH={},CODECS=\"avc1.64002a,mp4a.40.2\",\
             RESOLUTION={w}x{h},FRAME-RATE=29.970,AUDIO=\"aac\",CLOSED-CAPTIONS=NONE\n\
             https://cdn{}.example.net/vod/title/v{i}/prog_index.m3u8?token=abcdef0123456789",
            bw * 9 / 10,
            i % 3
        );
        let _ = writeln!(
            out,
            "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH={},CODECS=\"avc1.64002a\",RESOLUTION={w}x{h},\
             URI=\"v{i}/iframe_index.m3u8\"",
            bw / 10
        );
    }
    out.into_bytes()
}

/// A live MPEG-TS stream of `gops` groups of `gop` packets each: PAT, PMT (H.264 on PID 0x100,
/// AAC on 0x101), a keyframe packet with `random_access_indicator`, then video packets and one
/// audio packet in ten. Payloads are patterned so every packet is distinct.
pub fn live_ts(gops: usize, gop: usize) -> Vec<u8> {
    const PACKET: usize = 188;
    let mut out = Vec::with_capacity(gops * gop * PACKET);
    let mut n: u32 = 0;
    let mut packet = |out: &mut Vec<u8>, head: &[u8]| {
        let start = out.len();
        out.extend_from_slice(head);
        out.resize(start + PACKET, 0xff);
        out[start + PACKET - 4..start + PACKET].copy_from_slice(&n.to_be_bytes());
        n = n.wrapping_add(1);
    };
    for _ in 0..gops {
        packet(
            &mut out,
            &[
                0x47, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 13, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00,
                0, 0, 0, 0,
            ],
        );
        packet(
            &mut out,
            &[
                0x47, 0x50, 0x00, 0x10, 0x00, 0x02, 0xb0, 23, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0,
                0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00, 0, 0, 0, 0,
            ],
        );
        packet(
            &mut out,
            &[
                0x47, 0x41, 0x00, 0x30, 1, 0x40, 0, 0, 1, 0xe0, 0, 0, 0x80, 0, 0, 0, 0, 0, 1, 0x09,
            ],
        );
        for i in 3..gop.max(4) {
            if i % 10 == 0 {
                packet(
                    &mut out,
                    &[
                        0x47, 0x41, 0x01, 0x30, 1, 0x40, 0, 0, 1, 0xc0, 0, 0, 0x80, 0, 0,
                    ],
                );
            } else {
                packet(&mut out, &[0x47, 0x01, 0x00, 0x10]);
            }
        }
    }
    out
}

/// Series titles of the sample guide (titles repeat across a real guide).
const SERIES: [&str; 16] = [
    "The Morning Show",
    "Le Journal de 20h",
    "Télé Matin",
    "Champions League Live",
    "Nature's Wonders",
    "Cooking with Ana",
    "Premier League Highlights",
    "Crime Scene Berlin",
    "Les Experts: Miami",
    "World News Tonight",
    "Kids Club",
    "Documentary: Deep Sea",
    "Late Night Comedy",
    "Motorsport Weekly",
    "Film: The Long Road",
    "Weather & Traffic",
];
const CATEGORIES: [&str; 8] = [
    "News",
    "Sports",
    "Movie",
    "Series",
    "Documentary",
    "Kids",
    "Entertainment",
    "Magazine",
];
const WORDS: [&str; 24] = [
    "the",
    "a",
    "new",
    "episode",
    "where",
    "our",
    "team",
    "travels",
    "to",
    "discover",
    "city",
    "été",
    "château",
    "with",
    "guests",
    "and",
    "surprising",
    "results",
    "live",
    "from",
    "studio",
    "match",
    "between",
    "rivals",
];

/// A reproducible XMLTV guide written piece by piece, so a large guide never has to sit in
/// memory: `channels` channel definitions (`ch{i}.example`, display name `Channel {i}`) then
/// `per_channel` programmes for each, channel after channel, 30 minutes each from
/// 2024-01-01 00:00 +0100. A programme has a title (16 series), a description of 0 to 8 words,
/// a category, an episode number on one in two and a sub-title on one in six, one programme
/// per line: about 230 bytes.
#[derive(Debug)]
pub struct GuideGen {
    channels: usize,
    per_channel: usize,
    /// Next item: `0..channels` channel definitions, then programmes.
    next: usize,
    rng: XorShift,
}

impl GuideGen {
    /// A generator; nothing is produced until [`fill`](Self::fill).
    pub fn new(channels: usize, per_channel: usize) -> Self {
        GuideGen {
            channels,
            per_channel,
            next: 0,
            rng: XorShift(0x2545_f491_4f6c_dd1d),
        }
    }

    /// Appends at least `min` bytes (fewer only at the end); `false` once the guide is complete.
    pub fn fill(&mut self, out: &mut Vec<u8>, min: usize) -> bool {
        use std::io::Write;
        let target = out.len() + min;
        let total = self.channels + self.channels * self.per_channel;
        if self.next > total {
            return false;
        }
        if self.next == 0 {
            out.extend_from_slice(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n\
                  <tv generator-info-name=\"relay-benches\">\n",
            );
        }
        while out.len() < target && self.next < total {
            let i = self.next;
            self.next += 1;
            if i < self.channels {
                let _ = writeln!(
                    out,
                    "  <channel id=\"ch{i}.example\"><display-name lang=\"en\">Channel {i}</display-name>\
                     <icon src=\"http://logos.example.com/{i}.png\"/></channel>"
                );
                continue;
            }
            let p = i - self.channels;
            let (ch, n) = (p / self.per_channel, p % self.per_channel);
            let start = 1_704_063_600 + n as i64 * 1800; // 2024-01-01 00:00 +0100
            let r = self.rng.next();
            let _ = write!(out, "  <programme start=\"");
            stamp(out, start);
            let _ = write!(out, "\" stop=\"");
            stamp(out, start + 1800);
            let _ = write!(
                out,
                "\" channel=\"ch{ch}.example\"><title lang=\"en\">{}</title>",
                SERIES[(r % 16) as usize]
            );
            if r.is_multiple_of(6) {
                let _ = write!(out, "<sub-title>Part {}</sub-title>", n % 13 + 1);
            }
            let words = (r >> 8) % 9;
            if words > 0 {
                out.extend_from_slice(b"<desc>");
                let mut w = r;
                for k in 0..words {
                    if k > 0 {
                        out.push(b' ');
                    }
                    w = w.rotate_left(5) ^ 0x9e37_79b9;
                    out.extend_from_slice(WORDS[(w % 24) as usize].as_bytes());
                }
                out.extend_from_slice(b".</desc>");
            }
            let _ = write!(
                out,
                "<category>{}</category>",
                CATEGORIES[((r >> 16) % 8) as usize]
            );
            if r.is_multiple_of(2) {
                let _ = write!(
                    out,
                    "<episode-num system=\"xmltv_ns\">{}.{}.</episode-num>",
                    (r >> 24) % 10,
                    n % 40
                );
            }
            out.extend_from_slice(b"</programme>\n");
        }
        if self.next >= total {
            out.extend_from_slice(b"</tv>\n");
            self.next = total + 1;
            return false;
        }
        true
    }
}

/// `t` as `YYYYMMDDhhmmss +0100` (local time one hour ahead of UTC).
fn stamp(out: &mut Vec<u8>, t: i64) {
    let mut utc = Vec::new();
    relay_core::proto::xmltv::format_time(t + 3600, &mut utc);
    out.extend_from_slice(&utc[..14]);
    out.extend_from_slice(b" +0100");
}

/// A whole sample guide in memory (see [`GuideGen`]).
pub fn sample_guide(channels: usize, per_channel: usize) -> Vec<u8> {
    let mut g = GuideGen::new(channels, per_channel);
    let mut out = Vec::new();
    while g.fill(&mut out, 1 << 20) {}
    out
}

/// A fixed-seed xorshift64 generator: varied yet reproducible sample data.
#[derive(Debug)]
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use relay_core::proto::m3u;

    #[test]
    fn sample_playlist_is_realistic() {
        let input = sample_playlist(100);
        assert_eq!(input, sample_playlist(100));
        let playlist = m3u::parse(&input);
        assert_eq!(playlist.entries.len(), 100);
        assert_eq!(playlist.skipped_lines, 0);
        let url = &playlist.entries[7].url;
        assert!((70..=90).contains(&url.len()), "{url}");
        assert_eq!(playlist.entries[10].upstream_headers().len(), 2);
        assert_eq!(playlist.entries[7].group(), Some("International | FR"));
    }

    #[test]
    fn sample_hls_playlists_rewrite() {
        let base = relay_core::proto::uri::Uri::parse("http://h/live/index.m3u8").unwrap();
        let count = |input: &[u8]| {
            let mut out = Vec::new();
            relay_core::proto::hls::rewrite(input, &base, &mut out, |t| {
                Ok::<_, ()>(t.raw.to_string())
            })
            .unwrap()
        };
        let media = sample_media_playlist(1000);
        assert_eq!(media, sample_media_playlist(1000));
        let s = count(&media);
        assert_eq!((s.uris, s.master, s.endlist), (1010, false, true));
        let s = count(&sample_master_playlist());
        assert_eq!((s.uris, s.master), (22, true));
    }
}
