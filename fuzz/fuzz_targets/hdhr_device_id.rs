//! HDHomeRun device ids. Any string (a config value, a state file) parses without panicking;
//! an accepted id passes the check digit, is not reserved and prints back as its input
//! (upper-cased); an id made from any 32 bits parses back to itself, and changing any one of
//! its hex digits makes it fail.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::hdhr::{DeviceId, checksum_ok};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(id) = DeviceId::parse(text)
    {
        assert!(checksum_ok(id.get()));
        assert!(id.get() != 0 && id.get() != u32::MAX);
        assert_eq!(id.to_string(), text.to_ascii_uppercase());
    }
    let mut four = [0u8; 4];
    for (d, s) in four.iter_mut().zip(data) {
        *d = *s;
    }
    let id = DeviceId::from_random(u32::from_le_bytes(four));
    let text = id.to_string();
    assert_eq!(DeviceId::parse(&text), Ok(id));
    let pos = usize::from(data.get(4).copied().unwrap_or(0)) % 8;
    let mut bytes = text.into_bytes();
    bytes[pos] = if bytes[pos] == b'0' { b'7' } else { b'0' };
    let changed = String::from_utf8(bytes).expect("hex is ASCII");
    assert!(DeviceId::parse(&changed).is_err(), "{changed} accepted");
});
