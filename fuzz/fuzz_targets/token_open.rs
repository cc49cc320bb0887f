//! Token decoding. Any string a client puts in `/r/{token}` is opened without panicking and is
//! refused unless it is a seal of ours; a token built from the input round-trips exactly, and
//! changing any one character of it makes it fail.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::hls::Kind;
use relay_core::token::{Keys, Token};
use std::sync::OnceLock;

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys::from_secret(b"fuzzing secret, fixed"))
}

fuzz_target!(|data: &[u8]| {
    let keys = keys();
    // 1. The raw input as a client's token: refused (a forgery by chance is out of reach).
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(keys.open(text, 0).is_err(), "accepted {text:?}");
    }
    // 2. A token from the input's fields round-trips; any changed character is refused.
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let kind = Kind::ALL[usize::from(head) % Kind::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    let (channel, url) = text.split_once('\n').unwrap_or(("0123456789abcdef", &text));
    let token = Token {
        channel: channel.chars().take(64).collect(),
        kind,
        url: url.to_string(),
        expires: u32::from(head) << 24,
    };
    let Ok(sealed) = keys.seal(&token) else {
        return;
    };
    assert_eq!(keys.open(&sealed, 0).as_ref(), Ok(&token));
    let mut bytes = sealed.into_bytes();
    let i = usize::from(head) * 7 % bytes.len();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let changed = String::from_utf8(bytes).expect("base64 is ASCII");
    assert!(keys.open(&changed, 0).is_err());
});
