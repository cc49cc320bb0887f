//! The XMLTV writer: one element at a time, in the DTD's order, escaped.

use super::text::escape_into;
use super::time::format_time;
use super::{Channel, Credit, Extra, Icon, Programme, Text};

/// `<programme>` attributes the DTD knows besides `start`, `stop` and `channel`.
const PROGRAMME_ATTRS: [&str; 5] = [
    "pdc-start",
    "vps-start",
    "showview",
    "videoplus",
    "clumpidx",
];

/// `<credits>` members in the DTD's order.
const CREDIT_KINDS: [&str; 10] = [
    "director",
    "actor",
    "writer",
    "adapter",
    "producer",
    "composer",
    "editor",
    "presenter",
    "commentator",
    "guest",
];

/// Extra elements the DTD allows in `<programme>`, with their place in its content model (the
/// modelled fields sit between: icon at 11, episode-num at 14, rating at 22) and whether the
/// model allows only one.
const EXTRA_SLOTS: [(&str, u8, bool); 17] = [
    ("keyword", 7, false),
    ("language", 8, true),
    ("orig-language", 9, true),
    ("length", 10, true),
    ("url", 12, false),
    ("country", 13, false),
    ("video", 15, true),
    ("audio", 16, true),
    ("previously-shown", 17, true),
    ("premiere", 18, true),
    ("last-chance", 19, true),
    ("new", 20, true),
    ("subtitles", 21, false),
    ("star-rating", 23, false),
    ("review", 24, false),
    ("image", 25, false),
    // Never matched by name: a sentinel past every slot.
    ("", 255, false),
];
const ICON_SLOT: u8 = 11;
const EPISODE_SLOT: u8 = 14;
const RATING_SLOT: u8 = 22;

/// Appends the XML declaration, the doctype and the `<tv>` start tag (with
/// `generator-info-name` unless `generator` is empty).
pub fn write_header(out: &mut Vec<u8>, generator: &str) {
    out.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE tv SYSTEM \"xmltv.dtd\">\n<tv",
    );
    if !generator.is_empty() {
        attr(out, "generator-info-name", generator);
    }
    out.extend_from_slice(b">\n");
}

/// Appends `</tv>`.
pub fn write_footer(out: &mut Vec<u8>) {
    out.extend_from_slice(b"</tv>\n");
}

fn attr(out: &mut Vec<u8>, name: &str, value: &str) {
    out.push(b' ');
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"=\"");
    escape_into(value, true, out);
    out.push(b'"');
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

/// `<name lang="..">value</name>` for each non-blank text (the DTD's validators reject blank
/// titles and descriptions).
fn texts(out: &mut Vec<u8>, name: &str, texts: &[Text]) {
    for t in texts.iter().filter(|t| !blank(&t.value)) {
        out.extend_from_slice(b"    <");
        out.extend_from_slice(name.as_bytes());
        if let Some(lang) = &t.lang {
            attr(out, "lang", lang);
        }
        out.push(b'>');
        escape_into(&t.value, false, out);
        out.extend_from_slice(b"</");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b">\n");
    }
}

fn icons(out: &mut Vec<u8>, indent: &[u8], icons: &[Icon]) {
    for i in icons.iter().filter(|i| !i.src.is_empty()) {
        out.extend_from_slice(indent);
        out.extend_from_slice(b"<icon");
        attr(out, "src", &i.src);
        if let Some(w) = &i.width {
            attr(out, "width", w);
        }
        if let Some(h) = &i.height {
            attr(out, "height", h);
        }
        out.extend_from_slice(b"/>\n");
    }
}

/// Appends a `<channel>` with its display names (the id when it has none: the DTD requires
/// one), icons and URLs. [`Channel::extras`] are dropped (the DTD allows none).
pub fn write_channel(out: &mut Vec<u8>, c: &Channel) {
    out.extend_from_slice(b"  <channel");
    attr(out, "id", &c.id);
    out.extend_from_slice(b">\n");
    if c.display_names.iter().all(|t| blank(&t.value)) {
        let id = Text {
            value: c.id.trim().to_owned(),
            lang: None,
        };
        texts(out, "display-name", std::slice::from_ref(&id));
    } else {
        texts(out, "display-name", &c.display_names);
    }
    icons(out, b"    ", &c.icons);
    for u in &c.urls {
        out.extend_from_slice(b"    <url");
        if let Some(s) = &u.system {
            attr(out, "system", s);
        }
        out.push(b'>');
        escape_into(&u.value, false, out);
        out.extend_from_slice(b"</url>\n");
    }
    out.extend_from_slice(b"  </channel>\n");
}

/// Writes the extras whose slot is below `until`, advancing `next`.
fn extras_until(out: &mut Vec<u8>, sorted: &[(u8, &Extra)], next: &mut usize, until: u8) {
    while let Some((slot, e)) = sorted.get(*next) {
        if *slot >= until {
            break;
        }
        out.extend_from_slice(b"    ");
        out.extend_from_slice(e.xml.as_bytes());
        out.push(b'\n');
        *next += 1;
    }
}

fn credit(out: &mut Vec<u8>, c: &Credit) {
    out.extend_from_slice(b"      <");
    out.extend_from_slice(c.kind.as_bytes());
    if let Some(role) = &c.role {
        attr(out, "role", role);
    }
    if let Some(g) = c.guest.as_deref().filter(|g| *g == "yes" || *g == "no") {
        attr(out, "guest", g);
    }
    out.push(b'>');
    escape_into(&c.name, false, out);
    out.extend_from_slice(c.extra.as_bytes());
    out.extend_from_slice(b"</");
    out.extend_from_slice(c.kind.as_bytes());
    out.extend_from_slice(b">\n");
}

/// Appends a `<programme>` with full `YYYYMMDDhhmmss +0000` times and its children in the DTD's
/// order. Returns `false` (and writes nothing) when it has no non-blank title, which the DTD
/// requires. Blank sub-titles, descriptions and categories are left out; credits of unknown
/// kinds, extras the DTD does not know, a second copy of an element the DTD allows once, and
/// unknown attributes are dropped.
pub fn write_programme(out: &mut Vec<u8>, p: &Programme) -> bool {
    if p.titles.iter().all(|t| blank(&t.value)) {
        return false;
    }
    out.extend_from_slice(b"  <programme start=\"");
    format_time(p.start, out);
    out.push(b'"');
    if let Some(stop) = p.stop {
        out.extend_from_slice(b" stop=\"");
        format_time(stop, out);
        out.push(b'"');
    }
    attr(out, "channel", &p.channel);
    for (k, v) in &p.attrs {
        if PROGRAMME_ATTRS.contains(&k.as_str()) {
            attr(out, k, v);
        }
    }
    out.extend_from_slice(b">\n");

    let mut sorted: Vec<(u8, &Extra)> = Vec::new();
    let mut seen_once: Vec<&str> = Vec::new();
    for e in &p.extras {
        if let Some(&(name, slot, once)) = EXTRA_SLOTS.iter().find(|(n, ..)| *n == e.name) {
            if once {
                if seen_once.contains(&name) {
                    continue;
                }
                seen_once.push(name);
            }
            sorted.push((slot, e));
        }
    }
    sorted.sort_by_key(|(slot, _)| *slot);
    let mut next = 0;

    texts(out, "title", &p.titles);
    texts(out, "sub-title", &p.sub_titles);
    texts(out, "desc", &p.descs);
    let mut credits: Vec<(usize, &Credit)> = p
        .credits
        .iter()
        .filter_map(|c| Some((CREDIT_KINDS.iter().position(|k| *k == c.kind)?, c)))
        .collect();
    if !credits.is_empty() {
        credits.sort_by_key(|(rank, _)| *rank);
        out.extend_from_slice(b"    <credits>\n");
        for (_, c) in credits {
            credit(out, c);
        }
        out.extend_from_slice(b"    </credits>\n");
    }
    if let Some(date) = p.date.as_deref().filter(|d| !blank(d)) {
        out.extend_from_slice(b"    <date>");
        escape_into(date, false, out);
        out.extend_from_slice(b"</date>\n");
    }
    texts(out, "category", &p.categories);
    extras_until(out, &sorted, &mut next, ICON_SLOT);
    icons(out, b"    ", &p.icons);
    extras_until(out, &sorted, &mut next, EPISODE_SLOT);
    for e in &p.episode_nums {
        out.extend_from_slice(b"    <episode-num");
        if let Some(s) = &e.system {
            attr(out, "system", s);
        }
        out.push(b'>');
        escape_into(&e.value, false, out);
        out.extend_from_slice(b"</episode-num>\n");
    }
    extras_until(out, &sorted, &mut next, RATING_SLOT);
    for r in &p.ratings {
        out.extend_from_slice(b"    <rating");
        if let Some(s) = &r.system {
            attr(out, "system", s);
        }
        out.extend_from_slice(b">\n      <value>");
        escape_into(&r.value, false, out);
        out.extend_from_slice(b"</value>\n");
        icons(out, b"      ", &r.icons);
        out.extend_from_slice(b"    </rating>\n");
    }
    extras_until(out, &sorted, &mut next, u8::MAX);
    out.extend_from_slice(b"  </programme>\n");
    true
}
