//! Case and accent folding for Latin scripts, and the normalised form used to match channel
//! names. Small and table-driven: no Unicode normalisation crate.

/// Base letters of U+00C0..=U+017F (Latin-1 Supplement letters and Latin Extended-A), one entry
/// per code point, lower case; `×` and `÷` fold to themselves.
const LATIN: [&str; 192] = [
    // U+00C0 ÀÁÂÃÄÅÆÇ ÈÉÊË ÌÍÎÏ
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // U+00D0 ÐÑÒÓÔÕÖ× ØÙÚÛÜÝÞß
    "d", "n", "o", "o", "o", "o", "o", "×", "o", "u", "u", "u", "u", "y", "th", "ss",
    // U+00E0 àáâãäåæç èéêë ìíîï
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    // U+00F0 ðñòóôõö÷ øùúûüýþÿ
    "d", "n", "o", "o", "o", "o", "o", "÷", "o", "u", "u", "u", "u", "y", "th", "y",
    // U+0100 ĀāĂăĄąĆć ĈĉĊċČčĎď
    "a", "a", "a", "a", "a", "a", "c", "c", "c", "c", "c", "c", "c", "c", "d", "d",
    // U+0110 ĐđĒēĔĕĖė ĘęĚěĜĝĞğ
    "d", "d", "e", "e", "e", "e", "e", "e", "e", "e", "e", "e", "g", "g", "g", "g",
    // U+0120 ĠġĢģĤĥĦħ ĨĩĪīĬĭĮį
    "g", "g", "g", "g", "h", "h", "h", "h", "i", "i", "i", "i", "i", "i", "i", "i",
    // U+0130 İıĲĳĴĵĶķ ĸĹĺĻļĽľĿ
    "i", "i", "ij", "ij", "j", "j", "k", "k", "k", "l", "l", "l", "l", "l", "l", "l",
    // U+0140 ŀŁłŃńŅņŇ ňŉŊŋŌōŎŏ
    "l", "l", "l", "n", "n", "n", "n", "n", "n", "n", "n", "n", "o", "o", "o", "o",
    // U+0150 ŐőŒœŔŕŖŗ ŘřŚśŜŝŞş
    "o", "o", "oe", "oe", "r", "r", "r", "r", "r", "r", "s", "s", "s", "s", "s", "s",
    // U+0160 ŠšŢţŤťŦŧ ŨũŪūŬŭŮů
    "s", "s", "t", "t", "t", "t", "t", "t", "u", "u", "u", "u", "u", "u", "u", "u",
    // U+0170 ŰűŲųŴŵŶŷ ŸŹźŻżŽžſ
    "u", "u", "u", "u", "w", "w", "y", "y", "y", "z", "z", "z", "z", "z", "z", "s",
];

/// Appends `s` folded: lower case, Latin letters without their accents (`É` → `e`, `ß` → `ss`,
/// `Œ` → `oe`), combining marks (U+0300..=U+036F) dropped, typographic quotes as `'`. Other
/// scripts are lower-cased by the standard library and otherwise kept.
pub fn fold_into(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // ASCII runs in bulk.
        let run = b[i..].iter().take_while(|c| c.is_ascii()).count();
        if run > 0 {
            out.extend(
                b[i..i + run]
                    .iter()
                    .map(|c| char::from(c.to_ascii_lowercase())),
            );
            i += run;
            continue;
        }
        let Some(c) = s[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        match u32::from(c) {
            cp @ 0xC0..=0x17F => out.push_str(LATIN[(cp - 0xC0) as usize]),
            0x300..=0x36F => {}
            0x218 | 0x219 => out.push('s'),
            0x21A | 0x21B => out.push('t'),
            0x1A0 | 0x1A1 => out.push('o'),
            0x1AF | 0x1B0 => out.push('u'),
            0x1E9E => out.push_str("ss"),
            0x2018 | 0x2019 | 0x201B | 0x2032 => out.push('\''),
            _ => out.extend(c.to_lowercase()),
        }
    }
}

/// `s` folded (see [`fold_into`]).
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

/// Quality suffixes dropped by [`normalise`] (after folding; a space must precede them).
const SUFFIXES: [&str; 4] = [" hd", " fhd", " uhd", " sd"];

/// The form channel names are matched in when exact names fail: folded, a trailing quality
/// word (`HD`, `FHD`, `UHD`, `SD`) dropped, then everything but letters and digits removed
/// (`"Télé-Monte Carlo HD"` → `"telemontecarlo"`).
pub fn normalise(s: &str) -> String {
    let mut f = fold(s.trim());
    loop {
        let t = f.trim_end();
        match SUFFIXES.iter().find(|x| t.ends_with(*x)) {
            Some(x) => {
                let keep = t.len() - x.len();
                f.truncate(keep);
            }
            None => break,
        }
    }
    f.retain(char::is_alphanumeric);
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_latin() {
        assert_eq!(fold("Télé Ça ÉTÉ"), "tele ca ete");
        assert_eq!(fold("Straße Œuvre Łódź ǅ"), "strasse oeuvre lodz ǆ");
        assert_eq!(fold("Ștefan Țară"), "stefan tara");
        assert_eq!(fold("e\u{301}te\u{301}"), "ete");
        assert_eq!(fold("l’été"), "l'ete");
        assert_eq!(fold("ΕΛΛΆΔΑ Москва"), "ελλάδα москва");
        assert_eq!(fold("× ÷"), "× ÷");
        assert_eq!(LATIN.len(), 0x180 - 0xC0);
    }

    #[test]
    fn normalises_names() {
        assert_eq!(normalise("Télé-Monte Carlo HD"), "telemontecarlo");
        assert_eq!(normalise("BBC One FHD "), "bbcone");
        assert_eq!(normalise("bbc.one"), "bbcone");
        assert_eq!(normalise("HD"), "hd");
        assert_eq!(normalise("Channel 4 SD HD"), "channel4");
        assert_eq!(normalise("ARDHD"), "ardhd");
    }

    proptest! {
        #[test]
        fn folding_is_idempotent_on_latin(s in "[a-zA-Z0-9 À-ſ]{0,30}") {
            let once = fold(&s);
            prop_assert_eq!(fold(&once), once.clone());
            prop_assert!(once.is_ascii() || once.contains('×') || once.contains('÷'));
        }
    }
}
