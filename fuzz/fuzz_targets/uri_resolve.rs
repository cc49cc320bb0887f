//! URI reference resolution. The input is two strings separated by the first newline: a base
//! and a reference. When both parse and the base is absolute (what `resolve` expects), the
//! resolved URI must parse back to exactly the same string.

#![no_main]

use libfuzzer_sys::fuzz_target;
use relay_core::proto::uri::{MAX_URI_BYTES, Uri, UriError};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (base, reference) = text.split_once('\n').unwrap_or((text, ""));
    let (Ok(base), Ok(reference)) = (Uri::parse(base), Uri::parse(reference)) else {
        return;
    };
    if !base.is_absolute() {
        return;
    }
    let resolved = base.resolve(&reference);
    match Uri::parse(resolved.as_str()) {
        Ok(again) => assert_eq!(again.as_str(), resolved.as_str()),
        Err(UriError::TooLong) => assert!(resolved.as_str().len() > MAX_URI_BYTES),
        Err(e) => panic!(
            "{:?} resolved to {:?}, which does not parse: {e}",
            base, resolved
        ),
    }
});
