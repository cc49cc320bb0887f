//! The result codes every function returns, and their descriptions.

use crate::guard::guard_or;
use relay_core::config::ConfigError;
use relay_core::engine::EngineError;
use std::ffi::c_char;

/// What a call did. `RELAY_RESULT_OK` (0) is success; every other value is an error, grouped by
/// thousands-and-hundreds: 7000 the call itself (arguments, buffers, panics), 7100
/// configuration, 7200 the engine, 7300 HLS rewriting. A value, once published, keeps its meaning
/// and is never reused; retired values stay reserved. `relay_result_describe` gives the text.
///
/// In C this is a `uint32_t` (`relay_result`): a callback may return any value, and any value
/// may be passed to `relay_result_describe`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum relay_result {
    /// Success.
    Ok = 0,

    /// A panic inside the library was caught at the boundary. The objects involved stay safe to
    /// free; whether they still work is not guaranteed.
    Panic = 7000,
    /// A required pointer was NULL (a byte pointer may be NULL only with a length of 0).
    NullParameter = 7001,
    /// The output buffer is too small; the size needed was written to `*out_n`, nothing else.
    InsufficientSize = 7002,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 7003,
    /// An argument is out of its documented range.
    InvalidParameter = 7004,
    /// Called from inside a relay callback (or a relay thread), where this function would
    /// deadlock or block the engine; call it from your own thread instead.
    CalledFromCallback = 7005,

    /// `relay_config_set`: no setting has this name.
    ConfigUnknownKey = 7100,
    /// `relay_config_set`: the value does not parse for this setting (nothing was changed).
    ConfigBadValue = 7101,
    /// `relay_config_load_toml`: the config text was refused (nothing was changed);
    /// `relay_config_last_error` says where and why.
    ConfigFileRefused = 7102,

    /// `relay_engine_start` on an engine that is running.
    EngineAlreadyRunning = 7200,
    /// The call needs a running engine (after `relay_engine_start`, before `relay_engine_stop`).
    EngineNotRunning = 7201,
    /// The listen address could not be bound (in use, not local, no permission).
    EngineBindFailed = 7202,
    /// The engine's threads could not be started.
    EngineRuntimeFailed = 7203,
    /// The server did not stop within `shutdown-grace` plus a short slack; it was cut.
    EngineStopFailed = 7204,
    /// The engine's state (the token secret in `state-dir`) could not be read or created.
    EngineStateFailed = 7205,
    /// `relay_engine_load_m3u`: the catalog is larger than `RELAY_ENGINE_MAX_CATALOG_BYTES`.
    EngineCatalogTooLarge = 7206,

    /// `relay_hls_rewrite`: the input does not start with `#EXTM3U`.
    HlsNotPlaylist = 7300,
    /// `relay_hls_rewrite`: the input is larger than `RELAY_HLS_MAX_PLAYLIST_BYTES`, or the
    /// output would be larger than `RELAY_HLS_MAX_OUTPUT_BYTES`.
    HlsTooLarge = 7301,
    /// `relay_hls_rewrite`: a line is longer than `RELAY_HLS_MAX_LINE_BYTES`.
    HlsLineTooLong = 7302,
    /// `relay_hls_rewrite`: a URI in the playlist does not parse, or the mapper's replacement
    /// cannot stand where it goes (a `,` in an unquoted attribute value).
    HlsBadUri = 7303,
    /// `relay_hls_rewrite`: the base URL is not an absolute URI.
    HlsBadBaseUrl = 7304,
    /// `relay_hls_rewrite`: the mapper returned something other than `RELAY_RESULT_OK`.
    HlsMapperFailed = 7305,
    /// `relay_hls_rewrite`: the mapper wrote a URI that cannot go into a playlist (empty, not
    /// UTF-8, control characters or `"`, or `*out_n` larger than the buffer it was given).
    HlsMapperBadUri = 7306,
}

/// A result code as a plain number: what C hands back (a mapper's return value, an argument of
/// `relay_result_describe`). Spelled `relay_result` in the header, like the enum.
pub type relay_result_code = u32;

impl relay_result {
    /// Every code, for tests and for [`relay_result::from_code`].
    pub(crate) const ALL: &'static [relay_result] = &[
        relay_result::Ok,
        relay_result::Panic,
        relay_result::NullParameter,
        relay_result::InsufficientSize,
        relay_result::InvalidUtf8,
        relay_result::InvalidParameter,
        relay_result::CalledFromCallback,
        relay_result::ConfigUnknownKey,
        relay_result::ConfigBadValue,
        relay_result::ConfigFileRefused,
        relay_result::EngineAlreadyRunning,
        relay_result::EngineNotRunning,
        relay_result::EngineBindFailed,
        relay_result::EngineRuntimeFailed,
        relay_result::EngineStopFailed,
        relay_result::EngineStateFailed,
        relay_result::EngineCatalogTooLarge,
        relay_result::HlsNotPlaylist,
        relay_result::HlsTooLarge,
        relay_result::HlsLineTooLong,
        relay_result::HlsBadUri,
        relay_result::HlsBadBaseUrl,
        relay_result::HlsMapperFailed,
        relay_result::HlsMapperBadUri,
    ];

    /// The code for a number, if it is one.
    pub fn from_code(code: relay_result_code) -> Option<relay_result> {
        Self::ALL.iter().copied().find(|r| *r as u32 == code)
    }

    /// A one-line description (ASCII, so truncating at any byte is safe).
    pub fn description(self) -> &'static str {
        match self {
            relay_result::Ok => "ok",
            relay_result::Panic => "a panic inside the relay library was caught",
            relay_result::NullParameter => "a required pointer argument was NULL",
            relay_result::InsufficientSize => {
                "the output buffer is too small (the size needed is in *out_n)"
            }
            relay_result::InvalidUtf8 => "a string argument is not valid UTF-8",
            relay_result::InvalidParameter => "an argument is out of its documented range",
            relay_result::CalledFromCallback => {
                "this function cannot be called from a relay callback or a relay thread"
            }
            relay_result::ConfigUnknownKey => "unknown setting name",
            relay_result::ConfigBadValue => "the value does not parse for this setting",
            relay_result::ConfigFileRefused => {
                "the config text was refused (relay_config_last_error says where and why)"
            }
            relay_result::EngineAlreadyRunning => "the engine is already running",
            relay_result::EngineNotRunning => "the engine is not running",
            relay_result::EngineBindFailed => "the listen address could not be bound",
            relay_result::EngineRuntimeFailed => "the engine's threads could not be started",
            relay_result::EngineStopFailed => {
                "the server did not stop within its shutdown grace and was cut"
            }
            relay_result::EngineStateFailed => {
                "the token secret in state-dir could not be read or created"
            }
            relay_result::EngineCatalogTooLarge => "the catalog is larger than 256 MiB",
            relay_result::HlsNotPlaylist => "the input is not an HLS playlist (no #EXTM3U)",
            relay_result::HlsTooLarge => {
                "the playlist is larger than 16 MiB, or rewritten larger than 64 MiB"
            }
            relay_result::HlsLineTooLong => "a playlist line is longer than 64 KiB",
            relay_result::HlsBadUri => {
                "a playlist URI does not parse, or its replacement cannot stand there"
            }
            relay_result::HlsBadBaseUrl => "the base URL is not an absolute URI",
            relay_result::HlsMapperFailed => "the URI mapper returned an error",
            relay_result::HlsMapperBadUri => "the URI mapper wrote a URI unfit for a playlist",
        }
    }
}

impl From<ConfigError> for relay_result {
    fn from(e: ConfigError) -> Self {
        match e {
            ConfigError::UnknownKey(_) => relay_result::ConfigUnknownKey,
            ConfigError::BadValue { .. } => relay_result::ConfigBadValue,
        }
    }
}

impl From<EngineError> for relay_result {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Runtime(_) => relay_result::EngineRuntimeFailed,
            EngineError::Bind { .. } => relay_result::EngineBindFailed,
            EngineError::AlreadyRunning => relay_result::EngineAlreadyRunning,
            EngineError::NotRunning => relay_result::EngineNotRunning,
            EngineError::Stop(_) => relay_result::EngineStopFailed,
            EngineError::State { .. } => relay_result::EngineStateFailed,
        }
    }
}

/// Writes a description of `result` into `buf` (at most `len` bytes, truncated if longer, no NUL
/// added) and returns the number of bytes written. Any value is accepted; one that is not a
/// known code is described as such. With `buf` NULL or `len` 0 nothing is written and 0 is
/// returned. Thread-safe.
///
/// # Safety
///
/// `buf` is NULL or valid for writes of `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_result_describe(
    result: relay_result_code,
    buf: *mut c_char,
    len: usize,
) -> usize {
    guard_or(0, || {
        if buf.is_null() || len == 0 {
            return 0;
        }
        let unknown;
        let text = match relay_result::from_code(result) {
            Some(r) => r.description(),
            None => {
                unknown = format!("unknown relay_result {result}");
                unknown.as_str()
            }
        };
        let n = text.len().min(len);
        // SAFETY: `buf` is non-NULL and valid for `len >= n` bytes of writes (the caller's
        // contract); `text` is a distinct Rust allocation or static, so they do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n) };
        n
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_grouped_and_described() {
        let mut seen = std::collections::HashSet::new();
        for r in relay_result::ALL {
            let code = *r as u32;
            assert!(seen.insert(code), "{r:?} reuses {code}");
            assert!(code == 0 || (7000..7400).contains(&code), "{r:?} = {code}");
            assert!(r.description().is_ascii() && !r.description().is_empty());
            assert_eq!(relay_result::from_code(code), Some(*r));
        }
        assert_eq!(relay_result::from_code(1), None);
    }

    #[test]
    fn describe_truncates_and_never_adds_a_nul() {
        let mut buf = [0xAAu8; 64];
        // SAFETY: `buf` is valid for 64 bytes of writes.
        let n = unsafe {
            relay_result_describe(
                relay_result::EngineNotRunning as u32,
                buf.as_mut_ptr().cast(),
                64,
            )
        };
        assert_eq!(&buf[..n], b"the engine is not running");
        assert_eq!(buf[n], 0xAA);
        // SAFETY: as above, with a shorter length.
        let n = unsafe { relay_result_describe(0, buf.as_mut_ptr().cast(), 1) };
        assert_eq!(n, 1);
        // SAFETY: as above.
        let n = unsafe { relay_result_describe(42, buf.as_mut_ptr().cast(), 64) };
        assert_eq!(&buf[..n], b"unknown relay_result 42");
        // SAFETY: a NULL buffer is allowed.
        let n = unsafe { relay_result_describe(0, std::ptr::null_mut(), 10) };
        assert_eq!(n, 0);
    }
}
