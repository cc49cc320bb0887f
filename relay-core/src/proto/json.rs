//! The little JSON the relay needs, without a serialisation framework: writing string literals
//! and reading flat objects of scalar values (as found in `#EXTHTTP:` lines).

/// Largest input [`parse_flat_object`] accepts; longer input is rejected, never scanned.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

/// Appends `s` to `out` as a JSON string literal, quotes included.
///
/// `"` and `\` are backslash-escaped, `\n`, `\r`, `\t`, `\b` and `\f` use their short escapes and
/// the other control characters below U+0020 become `\u00XX`; everything else is copied as is.
pub fn write_str(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        // `i` is at an ASCII byte, so both slices end on character boundaries.
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            push_u_escape(out, b);
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(&s[run..]);
    out.push('"');
}

fn push_u_escape(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\u00");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0xf)]));
}

/// Parses a JSON object whose values are scalars, e.g. `{"User-Agent":"x","Cookie":"y"}`.
///
/// Returns the members in order (duplicate names kept, callers decide which wins). String values
/// are unescaped (`\uXXXX` included; surrogate pairs are combined and a lone surrogate becomes
/// U+FFFD); numbers, `true`, `false` and `null` are returned as their text. Anything else — a
/// nested object or array, invalid JSON, trailing text, input over [`MAX_JSON_BYTES`] — gives
/// `None`. Leading and trailing whitespace is allowed.
pub fn parse_flat_object(input: &str) -> Option<Vec<(String, String)>> {
    if input.len() > MAX_JSON_BYTES {
        return None;
    }
    let mut r = Reader { s: input, pos: 0 };
    let mut members = Vec::new();
    r.skip_ws();
    r.expect(b'{')?;
    r.skip_ws();
    if r.peek() == Some(b'}') {
        r.pos += 1;
    } else {
        loop {
            r.skip_ws();
            let name = r.string()?;
            r.skip_ws();
            r.expect(b':')?;
            r.skip_ws();
            let value = r.scalar()?;
            members.push((name, value));
            r.skip_ws();
            match r.bump()? {
                b',' => {}
                b'}' => break,
                _ => return None,
            }
        }
    }
    r.skip_ws();
    (r.pos == input.len()).then_some(members)
}

/// A cursor over the input; `pos` always sits on a character boundary between tokens.
struct Reader<'a> {
    s: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    fn expect(&mut self, want: u8) -> Option<()> {
        (self.bump()? == want).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn scalar(&mut self) -> Option<String> {
        match self.peek()? {
            b'"' => self.string(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &str) -> Option<String> {
        let rest = self.s.get(self.pos..)?;
        rest.starts_with(word).then(|| {
            self.pos += word.len();
            word.to_owned()
        })
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    fn number(&mut self) -> Option<String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.bump()? {
            b'0' => {}
            b'1'..=b'9' => self.digits(),
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digit()?;
            self.digits();
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.digit()?;
            self.digits();
        }
        Some(self.s[start..self.pos].to_owned())
    }

    fn digit(&mut self) -> Option<()> {
        self.bump()?.is_ascii_digit().then_some(())
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    fn string(&mut self) -> Option<String> {
        self.expect(b'"')?;
        let mut out = String::new();
        loop {
            let run = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Stopped at an ASCII byte or the end: a character boundary.
            out.push_str(&self.s[run..self.pos]);
            match self.bump()? {
                b'"' => return Some(out),
                b'\\' => self.escape(&mut out)?,
                _ => return None, // raw control character
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Option<()> {
        let c = match self.bump()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return None,
        };
        out.push(c);
        Some(())
    }

    /// The code point of a `\uXXXX` escape whose `\u` has been read, combining a surrogate pair.
    fn unicode_escape(&mut self) -> Option<char> {
        let unit = self.hex4()?;
        if !(0xD800..0xDC00).contains(&unit) {
            // A BMP scalar value, or a lone low surrogate (→ U+FFFD).
            return Some(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER));
        }
        let rest = &self.s.as_bytes()[self.pos..];
        if rest.starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let c = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return char::from_u32(c);
            }
            // Not a low surrogate: leave that escape to be read on its own.
            self.pos = save;
        }
        Some(char::REPLACEMENT_CHARACTER)
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut v = 0;
        for _ in 0..4 {
            let d = char::from(self.bump()?).to_digit(16)?;
            v = (v << 4) | d;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lit(s: &str) -> String {
        let mut out = String::new();
        write_str(&mut out, s);
        out
    }

    fn pairs(v: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(v.iter().map(|&(a, b)| (a.into(), b.into())).collect())
    }

    #[test]
    fn write_escapes() {
        assert_eq!(lit(""), r#""""#);
        assert_eq!(lit("plain ü €"), "\"plain ü €\"");
        assert_eq!(lit("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(lit("\n\r\t\u{8}\u{c}"), r#""\n\r\t\b\f""#);
        assert_eq!(lit("\0x\u{1f}\u{7f}"), "\"\\u0000x\\u001f\u{7f}\"");
    }

    #[test]
    fn parse_basic() {
        assert_eq!(
            parse_flat_object(r#" {"User-Agent":"x","Cookie" : "y"} "#),
            pairs(&[("User-Agent", "x"), ("Cookie", "y")])
        );
        assert_eq!(parse_flat_object("{}"), pairs(&[]));
        assert_eq!(parse_flat_object("\t{ }\n"), pairs(&[]));
        assert_eq!(
            parse_flat_object(r#"{"a":"1","a":"2"}"#),
            pairs(&[("a", "1"), ("a", "2")])
        );
    }

    #[test]
    fn parse_scalars_as_text() {
        assert_eq!(
            parse_flat_object(r#"{"n":-12.5e+3,"z":0,"t":true,"f":false,"u":null}"#),
            pairs(&[
                ("n", "-12.5e+3"),
                ("z", "0"),
                ("t", "true"),
                ("f", "false"),
                ("u", "null")
            ])
        );
        for bad in [
            r#"{"n":01}"#,
            r#"{"n":1.}"#,
            r#"{"n":-}"#,
            r#"{"n":1e}"#,
            r#"{"n":+1}"#,
            r#"{"t":tru}"#,
            r#"{"t":True}"#,
        ] {
            assert_eq!(parse_flat_object(bad), None, "{bad}");
        }
    }

    #[test]
    fn parse_escapes() {
        assert_eq!(
            parse_flat_object(r#"{"k":"a\"b\\c\/d\b\f\n\r\t"}"#),
            pairs(&[("k", "a\"b\\c/d\u{8}\u{c}\n\r\t")])
        );
        assert_eq!(
            parse_flat_object(r#"{"k":"\u00e9\u20AC\ud83d\ude00"}"#),
            pairs(&[("k", "é€😀")])
        );
        // Lone surrogates become U+FFFD; a following ordinary escape is kept.
        assert_eq!(
            parse_flat_object(r#"{"k":"\ud83d","l":"\ude00x","m":"\ud83d\u0041"}"#),
            pairs(&[("k", "\u{fffd}"), ("l", "\u{fffd}x"), ("m", "\u{fffd}A")])
        );
    }

    #[test]
    fn parse_rejects() {
        for bad in [
            "",
            "[]",
            "{",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":\"b\",}",
            "{\"a\":\"b\"} x",
            "{\"a\":{}}",
            "{\"a\":[\"b\"]}",
            "{a:\"b\"}",
            "{\"a\":\"b\" \"c\":\"d\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{\"a\":\"\\u12g4\"}",
            "{\"a\":\"raw\ttab\"}",
            "{\"a\":\"unterminated}",
        ] {
            assert_eq!(parse_flat_object(bad), None, "{bad:?}");
        }
        let big = format!("{{\"k\":\"{}\"}}", "x".repeat(MAX_JSON_BYTES));
        assert_eq!(parse_flat_object(&big), None);
    }

    proptest! {
        #[test]
        fn write_then_parse(key in any::<String>(), value in any::<String>()) {
            let mut obj = String::from("{");
            write_str(&mut obj, &key);
            obj.push(':');
            write_str(&mut obj, &value);
            obj.push('}');
            prop_assert_eq!(parse_flat_object(&obj), Some(vec![(key, value)]));
        }

        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_flat_object(&s);
        }
    }
}
