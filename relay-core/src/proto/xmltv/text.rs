//! Character sets, entity references and XML escaping for the XMLTV reader and writer.

/// Longest XML declaration looked at for its `encoding` (bytes from `<?xml`); a longer one is
/// read as UTF-8.
pub const MAX_DECL_BYTES: usize = 512;
/// Longest entity name looked up in an attribute value (`&name;`); a longer run after `&` is
/// kept as literal text and counted as a bad entity.
pub const MAX_ENTITY_NAME: usize = 32;

/// The character set a guide was decoded from, taken from its XML declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// UTF-8 (declared, or no declaration). Byte sequences that are not UTF-8 are read as
    /// Windows-1252, one byte each (guides that say UTF-8 and hold Latin-1 exist).
    #[default]
    Utf8,
    /// ISO-8859-1 (`latin1`, `us-ascii`), read as Windows-1252 as browsers do: the two agree
    /// except for 0x80..=0x9F, which real "Latin-1" guides use for `€`, `’`, `…`.
    Latin1,
    /// ISO-8859-15 (Latin-9, with `€`, `Š`, `Œ`...).
    Latin9,
    /// Windows-1252.
    Windows1252,
    /// A declared encoding this reader does not know: read as UTF-8, invalid sequences replaced
    /// with U+FFFD.
    Unknown,
}

impl Encoding {
    /// The encoding an XML declaration's `encoding` label names (case-insensitive).
    pub fn from_label(label: &str) -> Encoding {
        match label.trim().to_ascii_lowercase().as_str() {
            "utf-8" | "utf8" => Encoding::Utf8,
            "iso-8859-1" | "iso8859-1" | "iso_8859-1" | "latin1" | "latin-1" | "l1"
            | "us-ascii" | "ascii" => Encoding::Latin1,
            "iso-8859-15" | "iso8859-15" | "iso_8859-15" | "latin9" | "latin-9" | "l9" => {
                Encoding::Latin9
            }
            "windows-1252" | "cp1252" | "x-cp1252" => Encoding::Windows1252,
            _ => Encoding::Unknown,
        }
    }
}

/// Windows-1252's 0x80..=0x9F; the five bytes it leaves undefined map to the C1 controls.
const CP1252_HIGH: [char; 32] = [
    '\u{20AC}', '\u{81}', '\u{201A}', '\u{0192}', '\u{201E}', '\u{2026}', '\u{2020}', '\u{2021}',
    '\u{02C6}', '\u{2030}', '\u{0160}', '\u{2039}', '\u{0152}', '\u{8D}', '\u{017D}', '\u{8F}',
    '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}', '\u{2014}',
    '\u{02DC}', '\u{2122}', '\u{0161}', '\u{203A}', '\u{0153}', '\u{9D}', '\u{017E}', '\u{0178}',
];

fn windows_1252(b: u8) -> char {
    match b {
        0x80..=0x9f => CP1252_HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

fn latin9(b: u8) -> char {
    match b {
        0xa4 => '\u{20AC}',
        0xa6 => '\u{0160}',
        0xa8 => '\u{0161}',
        0xb4 => '\u{017D}',
        0xb8 => '\u{017E}',
        0xbc => '\u{0152}',
        0xbd => '\u{0153}',
        0xbe => '\u{0178}',
        _ => char::from(b),
    }
}

fn push_char(out: &mut Vec<u8>, c: char) {
    let mut tmp = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
}

/// Turns the guide's bytes into UTF-8 as they arrive. It first holds the opening bytes until
/// the XML declaration (if any) is complete, to learn the encoding; then decodes chunk by chunk,
/// carrying a UTF-8 sequence split across chunks.
#[derive(Debug, Default)]
pub(super) struct Transcoder {
    /// Bytes held before the encoding is known.
    head: Vec<u8>,
    /// `None` while the declaration is still awaited.
    encoding: Option<Encoding>,
    /// The start of a UTF-8 sequence cut by the chunk boundary (at most 3 bytes).
    carry: Vec<u8>,
    /// Bytes that were not valid in the declared UTF-8 and were read as Windows-1252.
    pub(super) recoded: u64,
}

impl Transcoder {
    /// The encoding in use (UTF-8 until the declaration says otherwise).
    pub(super) fn encoding(&self) -> Encoding {
        self.encoding.unwrap_or_default()
    }

    /// Decodes `bytes` and appends them to `out` as UTF-8.
    pub(super) fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.encoding.is_none() {
            self.head.extend_from_slice(bytes);
            if let Some(enc) = sniff(&self.head, false) {
                self.start(enc, out);
            }
            return;
        }
        self.decode(bytes, out);
    }

    /// Flushes what is held at the end of the input.
    pub(super) fn finish(&mut self, out: &mut Vec<u8>) {
        if self.encoding.is_none() {
            let enc = sniff(&self.head, true).unwrap_or_default();
            self.start(enc, out);
        }
        if !self.carry.is_empty() {
            let carry = std::mem::take(&mut self.carry);
            // An incomplete sequence at the very end.
            let from = out.len();
            for b in carry {
                self.recode_byte(b, out);
            }
            strip_dropped(out, from);
        }
    }

    fn start(&mut self, enc: Encoding, out: &mut Vec<u8>) {
        self.encoding = Some(enc);
        let mut head = std::mem::take(&mut self.head);
        if head.starts_with(b"\xEF\xBB\xBF") {
            head.drain(..3);
        }
        self.decode(&head, out);
    }

    fn recode_byte(&mut self, b: u8, out: &mut Vec<u8>) {
        if self.encoding() == Encoding::Unknown {
            push_char(out, char::REPLACEMENT_CHARACTER);
        } else {
            self.recoded += 1;
            push_char(out, windows_1252(b));
        }
    }

    fn decode(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        let from = out.len();
        self.decode_raw(bytes, out);
        strip_dropped(out, from);
    }

    fn decode_raw(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        match self.encoding() {
            Encoding::Utf8 | Encoding::Unknown => {
                if self.carry.is_empty() {
                    self.decode_utf8(bytes, out);
                } else {
                    // A sequence was cut by the last chunk boundary: decode it with this chunk.
                    let mut joined = std::mem::take(&mut self.carry);
                    joined.extend_from_slice(bytes);
                    self.decode_utf8(&joined, out);
                }
            }
            Encoding::Latin1 | Encoding::Windows1252 => {
                decode_single(bytes, out, windows_1252);
            }
            Encoding::Latin9 => decode_single(bytes, out, latin9),
        }
    }

    /// Decodes UTF-8, recoding invalid bytes; a sequence cut at the end goes to `carry` (which
    /// is empty on entry).
    fn decode_utf8(&mut self, mut rest: &[u8], out: &mut Vec<u8>) {
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.extend_from_slice(s.as_bytes());
                    return;
                }
                Err(e) => {
                    let good = e.valid_up_to();
                    out.extend_from_slice(&rest[..good]);
                    match e.error_len() {
                        Some(n) => {
                            for &b in &rest[good..good + n] {
                                self.recode_byte(b, out);
                            }
                            rest = &rest[good + n..];
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the next chunk.
                            self.carry.extend_from_slice(&rest[good..]);
                            return;
                        }
                    }
                }
            }
        }
    }
}

fn decode_single(bytes: &[u8], out: &mut Vec<u8>, map: fn(u8) -> char) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let ascii = rest.iter().position(|&b| b >= 0x80).unwrap_or(rest.len());
        out.extend_from_slice(&rest[..ascii]);
        rest = &rest[ascii..];
        while let Some((&b, tail)) = rest.split_first() {
            if b < 0x80 {
                break;
            }
            push_char(out, map(b));
            rest = tail;
        }
    }
}

/// Decides the encoding from the opening bytes: `None` while the declaration may still come.
fn sniff(head: &[u8], at_end: bool) -> Option<Encoding> {
    let mut b = head;
    if b.starts_with(b"\xEF\xBB\xBF") {
        return Some(Encoding::Utf8);
    }
    if !at_end && !b.is_empty() && b"\xEF\xBB\xBF".starts_with(b) {
        return None;
    }
    while let Some((c, rest)) = b.split_first() {
        if !c.is_ascii_whitespace() {
            break;
        }
        b = rest;
    }
    if b.len() < 5 {
        return if !at_end && (b"<?xml".starts_with(b)) {
            None
        } else {
            Some(Encoding::Utf8)
        };
    }
    if !b.starts_with(b"<?xml") {
        return Some(Encoding::Utf8);
    }
    let window = &b[..b.len().min(MAX_DECL_BYTES)];
    let Some(end) = memchr::memmem::find(window, b"?>") else {
        return if at_end || b.len() >= MAX_DECL_BYTES {
            Some(Encoding::Utf8)
        } else {
            None
        };
    };
    let decl = String::from_utf8_lossy(&window[..end]);
    Some(declared_encoding(&decl).map_or(Encoding::Utf8, Encoding::from_label))
}

/// The `encoding="..."` value of an XML declaration's text.
fn declared_encoding(decl: &str) -> Option<&str> {
    let i = decl.find("encoding")?;
    let rest = decl[i + "encoding".len()..].trim_start();
    let rest = rest.strip_prefix('=')?.trim_start();
    let quote = rest.chars().next().filter(|&q| q == '"' || q == '\'')?;
    let rest = &rest[1..];
    Some(&rest[..rest.find(quote)?])
}

/// Characters the reader removes and the writer never writes: those XML 1.0 forbids (C0
/// controls but tab, LF and CR; U+FFFE, U+FFFF) and the C1 controls U+0080..=U+009F
/// (validators reject them as mis-encoded text).
pub(super) fn is_dropped(c: char) -> bool {
    matches!(c, '\0'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{80}'..='\u{9F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Removes [`is_dropped`] characters from `out[from..]` (valid UTF-8).
fn strip_dropped(out: &mut Vec<u8>, from: usize) {
    let suspect =
        |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0xc2 || b == 0xef;
    let Some(first) = out[from..].iter().position(|&b| suspect(b)) else {
        return;
    };
    let mut w = from + first;
    let mut r = w;
    while r < out.len() {
        let b = out[r];
        let drop = match b {
            0xc2 => matches!(out.get(r + 1), Some(0x80..=0x9f)).then_some(2),
            0xef => (out.get(r + 1) == Some(&0xbf) && matches!(out.get(r + 2), Some(0xbe | 0xbf)))
                .then_some(3),
            _ if suspect(b) => Some(1),
            _ => None,
        };
        match drop {
            Some(n) => r += n,
            None => {
                out[w] = b;
                w += 1;
                r += 1;
            }
        }
    }
    out.truncate(w);
}

/// The character an entity or character reference names (`amp`, `#233`, `#xE9`), `None` when
/// it is not one of XML's five or not a valid character.
pub(super) fn resolve_ref(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) if !hex.is_empty() && hex.len() <= 8 => {
                    u32::from_str_radix(hex, 16).ok()?
                }
                Some(_) => return None,
                None if !num.is_empty()
                    && num.len() <= 10
                    && num.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    num.parse().ok()?
                }
                None => return None,
            };
            char::from_u32(code).filter(|&c| !is_dropped(c))
        }
    }
}

/// Appends `raw` (text or an attribute value as written) with references resolved. A reference
/// that cannot be resolved, and a `&` that starts none, stays as written and is counted in `bad`.
pub(super) fn unescape_into(raw: &str, out: &mut String, bad: &mut u64) {
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        // Byte search: the window may end inside a multi-byte character; `;` never does.
        let limit = rest.len().min(MAX_ENTITY_NAME + 2);
        let semi = rest.as_bytes()[1..limit].iter().position(|&b| b == b';');
        match semi.and_then(|j| resolve_ref(&rest[1..1 + j]).map(|c| (j, c))) {
            Some((j, c)) => {
                out.push(c);
                rest = &rest[j + 2..];
            }
            None => {
                *bad += 1;
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// What [`escape_into`] must look at: markup characters, controls, and the lead bytes of C1
/// controls (`C2 80..9F`) and of U+FFFE/U+FFFF (`EF BF BE/BF`).
const fn special_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'"' as usize] = true;
    t[0xc2] = true;
    t[0xef] = true;
    t
}
static SPECIAL: [bool; 256] = special_table();

/// Appends `s` XML-escaped (`&`, `<`, `>`, and `"` in attribute values). Characters XML 1.0
/// forbids (C0 controls but tab, LF and CR; U+FFFE, U+FFFF) and the C1 controls (U+0080 to
/// U+009F, which validators reject as mis-encoded text) are dropped. In attribute values tab,
/// LF and CR are written as character references so they survive attribute normalisation; in
/// text CR is (XML readers turn a raw CR into LF).
pub fn escape_into(s: &str, attr: bool, out: &mut Vec<u8>) {
    let b = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if !SPECIAL[usize::from(c)] {
            i += 1;
            continue;
        }
        let (rep, len): (&[u8], usize) = match c {
            b'&' => (b"&amp;", 1),
            b'<' => (b"&lt;", 1),
            b'>' => (b"&gt;", 1),
            b'"' if attr => (b"&quot;", 1),
            b'"' => (b"\"", 1),
            b'\t' if attr => (b"&#9;", 1),
            b'\n' if attr => (b"&#10;", 1),
            b'\r' => (b"&#13;", 1),
            b'\t' | b'\n' => (&b[i..i + 1], 1),
            0xc2 if matches!(b.get(i + 1), Some(0x80..=0x9f)) => (b"", 2),
            0xef if b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)) => {
                (b"", 3)
            }
            0xc2 | 0xef => {
                i += 1;
                continue;
            }
            _ => (b"", 1),
        };
        out.extend_from_slice(&b[start..i]);
        out.extend_from_slice(rep);
        i += len;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcode(input: &[u8], chunk: usize) -> (String, u64, Encoding) {
        let mut t = Transcoder::default();
        let mut out = Vec::new();
        for piece in input.chunks(chunk.max(1)) {
            t.push(piece, &mut out);
        }
        t.finish(&mut out);
        (
            String::from_utf8(out).expect("always UTF-8"),
            t.recoded,
            t.encoding(),
        )
    }

    #[test]
    fn declared_encodings_decode_to_utf8() {
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><t>T\xe9l\xe9 \x80</t>";
        for chunk in [1, 3, 100] {
            let (s, _, enc) = transcode(latin1, chunk);
            assert_eq!(enc, Encoding::Latin1);
            assert!(s.ends_with("<t>Télé €</t>"), "{s}");
        }
        let cp = b"<?xml version='1.0' encoding='windows-1252' ?><t>\x93q\x94</t>";
        assert!(transcode(cp, 2).0.ends_with("<t>“q”</t>"));
        let l9 = b"<?xml version=\"1.0\" encoding=\"iso-8859-15\"?><t>\xa4\xbd</t>";
        assert!(transcode(l9, 5).0.ends_with("<t>€œ</t>"));
        let unknown = b"<?xml version=\"1.0\" encoding=\"KOI8-R\"?><t>\xe9</t>";
        let (s, _, enc) = transcode(unknown, 4);
        assert_eq!(enc, Encoding::Unknown);
        assert!(s.ends_with("<t>\u{FFFD}</t>"));
    }

    #[test]
    fn utf8_split_anywhere_and_stray_latin1() {
        let input = "\u{FEFF}<t>Télé — 日本 🎬</t>".as_bytes();
        for chunk in 1..8 {
            let (s, recoded, _) = transcode(input, chunk);
            assert_eq!(s, "<t>Télé — 日本 🎬</t>");
            assert_eq!(recoded, 0);
        }
        let mixed = b"<t>caf\xe9 \xc3\xa9 end\xe9";
        for chunk in 1..6 {
            let (s, recoded, _) = transcode(mixed, chunk);
            assert_eq!(s, "<t>café é endé", "chunk {chunk}");
            assert_eq!(recoded, 2);
        }
        // Runs of lead bytes without continuations, cut anywhere (found by the fuzzer).
        let leads = b"a\xe8\xe8\xe8b\xe8\xe8\xc3\xa9\xe8";
        let whole = transcode(leads, leads.len()).0;
        assert_eq!(whole, "aèèèbèèéè");
        for chunk in 1..leads.len() {
            assert_eq!(transcode(leads, chunk).0, whole, "chunk {chunk}");
        }
    }

    #[test]
    fn forbidden_characters_are_dropped_on_the_way_in() {
        let input = "<t>a\u{1}b\u{85}c\u{FFFE}d\te\u{FFFD}\u{9F}</t>".as_bytes();
        for chunk in [1, 2, 100] {
            assert_eq!(transcode(input, chunk).0, "<t>abcd\te\u{FFFD}</t>");
        }
        // Windows-1252's undefined 0x81 decodes to a C1 control: dropped too.
        assert_eq!(transcode(b"<t>\x81x\xe9</t>", 100).0, "<t>x\u{e9}</t>");
        assert_eq!(resolve_ref("#133"), None);
        assert_eq!(resolve_ref("#1"), None);
        assert_eq!(resolve_ref("#9"), Some('\t'));
    }

    #[test]
    fn references() {
        let mut bad = 0;
        let mut s = String::new();
        unescape_into(
            "a &amp; b &lt;&#233;&#xE9;&nbsp; & &#0; &#xZZ; &",
            &mut s,
            &mut bad,
        );
        assert_eq!(s, "a & b <éé&nbsp; & &#0; &#xZZ; &");
        assert_eq!(bad, 5);
        // A window ending inside a multi-byte character (found by the fuzzer).
        let long = format!("&{}é", "x".repeat(MAX_ENTITY_NAME));
        s.clear();
        unescape_into(&long, &mut s, &mut bad);
        assert_eq!(s, long);
    }

    #[test]
    fn escaping() {
        let mut out = Vec::new();
        escape_into("a<b>&\"c\"\t\n\r\u{1}\u{85}\u{FFFE}é", false, &mut out);
        assert_eq!(out, "a&lt;b&gt;&amp;\"c\"\t\n&#13;é".as_bytes());
        out.clear();
        escape_into("\"x\"\t\n", true, &mut out);
        assert_eq!(out, b"&quot;x&quot;&#9;&#10;");
    }
}
