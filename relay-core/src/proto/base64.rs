//! Base64 (RFC 4648): the standard alphabet with padding for `Authorization: Basic`, and the
//! URL-safe alphabet without padding for tokens in paths.

const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn encode_with(input: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(alphabet[(n >> (18 - 6 * i)) as usize & 63]));
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding (RFC 4648 §4).
pub fn encode(input: &[u8]) -> String {
    encode_with(input, STANDARD, true)
}

/// URL-safe base64 without padding (RFC 4648 §5).
pub fn encode_url(input: &[u8]) -> String {
    encode_with(input, URL_SAFE, false)
}

/// Decodes URL-safe base64 without padding; `None` for any other byte, a dangling single
/// character, or non-zero bits left over in the last character (so each string has exactly one
/// decoding and tokens cannot be varied without changing their bytes).
pub fn decode_url(input: &[u8]) -> Option<Vec<u8>> {
    fn value(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        } as u32)
    }
    if input.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    for chunk in input.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = chunk.len() - 1;
        if bytes[keep..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(input.as_bytes()), want);
            let url = want.trim_end_matches('=');
            assert_eq!(encode_url(input.as_bytes()), url);
            assert_eq!(decode_url(url.as_bytes()).unwrap(), input.as_bytes());
        }
    }

    #[test]
    fn url_alphabet_and_rejections() {
        assert_eq!(encode_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode_url(b"-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(decode_url(b"Zg=="), None, "padding is not accepted");
        assert_eq!(decode_url(b"Z"), None, "a dangling character");
        assert_eq!(decode_url(b"Zh"), None, "non-zero trailing bits");
        assert_eq!(decode_url(b"Zm+v"), None, "standard alphabet");
    }

    proptest! {
        #[test]
        fn url_round_trip(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let s = encode_url(&data);
            prop_assert_eq!(decode_url(s.as_bytes()).unwrap(), data);
        }
    }
}
