//! `relay_config`: the settings an engine is built from.

use crate::guard::{guard, guard_or, in_ref, in_str, out_buf, out_ptr};
use crate::result::relay_result;
use relay_core::config::{Config, file};
use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

/// Settings for an engine (opaque). Made by `relay_config_new`, changed with
/// `relay_config_set` and `relay_config_load_toml`, read by `relay_engine_new` and
/// `relay_engine_reconfigure` (which copy it), released with `relay_config_free`. Thread-safe:
/// calls on one config from several threads are serialised.
#[derive(Debug)]
pub struct relay_config {
    config: Mutex<Config>,
    /// Why the last `relay_config_load_toml` was refused (empty after a success).
    last_error: Mutex<String>,
}

impl relay_config {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Config> {
        relay_core::sync::lock(&self.config)
    }
}

/// Makes a config with every setting at its default (see the README's settings table) and
/// stores it in `*out`; the caller owns it and releases it with `relay_config_free`.
///
/// # Safety
///
/// `out` is NULL or valid for a write of a pointer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_config_new(out: *mut *mut relay_config) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract (NULL is refused).
        let out = unsafe { out_ptr(out) }?;
        let config = Box::new(relay_config {
            config: Mutex::new(Config::default()),
            last_error: Mutex::new(String::new()),
        });
        out.set(Box::into_raw(config));
        Ok(())
    })
}

/// Applies one setting by name: the server's flag names without `--` (`listen`, `public-url`,
/// `catalog`, `user-agent`, the timeouts, ...: the README's settings table, or
/// `relay-server --help`), values as on the command line (durations `500ms`, `10s`, `2m`,
/// `6h`). `catalog` appends a source; every other key replaces. `listen` = `127.0.0.1:0` picks a
/// free port (see `relay_engine_local_addr`).
///
/// Key and value are UTF-8 bytes, pointer + length, no NUL needed. An unknown key gives
/// `RELAY_RESULT_CONFIG_UNKNOWN_KEY`, a bad value `RELAY_RESULT_CONFIG_BAD_VALUE`; either way the
/// config is unchanged. Thread-safe. Engines already made from this config are not affected.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `key`/`value` are NULL (only with length 0) or valid for
/// reads of `key_len`/`value_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_config_set(
    cfg: *mut relay_config,
    key: *const c_char,
    key_len: usize,
    value: *const c_char,
    value_len: usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract: NULL or a live config.
        let cfg = unsafe { in_ref(cfg.cast_const()) }?;
        // SAFETY: the caller's contract for both byte views.
        let (key, value) = unsafe { (in_str(key, key_len)?, in_str(value, value_len)?) };
        cfg.lock().set(key, value)?;
        Ok(())
    })
}

/// Applies a config file's text (TOML, the format `relay-server --config` reads: top-level keys
/// are the setting names of `relay_config_set`, `[[source]]` tables are catalog sources with
/// their own headers and caps; see the README) onto `cfg`: settings it names replace those set
/// before, its sources are added. Relative paths in it resolve against the current directory.
/// `text` is UTF-8 bytes, pointer + length.
///
/// On a refused text (unknown key, wrong type, bad value: `RELAY_RESULT_CONFIG_FILE_REFUSED`)
/// nothing of it is applied, and `relay_config_last_error` gives the line, column and reason.
/// Thread-safe. Engines already made from this config are not affected (see
/// `relay_engine_reconfigure`).
///
/// # Safety
///
/// `cfg` is NULL or a live config; `text` is NULL (only with length 0) or valid for reads of
/// `text_len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_config_load_toml(
    cfg: *mut relay_config,
    text: *const c_char,
    text_len: usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract: NULL or a live config, a readable byte view.
        let (cfg, text) = unsafe { (in_ref(cfg.cast_const())?, in_str(text, text_len)?) };
        let mut config = cfg.lock();
        let result = file::apply(&mut config, text, None);
        let mut last = relay_core::sync::lock(&cfg.last_error);
        match result {
            Ok(()) => {
                last.clear();
                Ok(())
            }
            Err(e) => {
                *last = e.to_string();
                Err(relay_result::ConfigFileRefused)
            }
        }
    })
}

/// Writes why the last `relay_config_load_toml` on `cfg` was refused (`config:LINE:COLUMN:
/// reason`, UTF-8, no NUL) into `buf` and its length into `*out_n`; empty when the last load
/// succeeded or none was made. `buf` may be NULL with `len` 0 to learn the length
/// (`RELAY_RESULT_INSUFFICIENT_SIZE` with `*out_n` = the length needed). Thread-safe.
///
/// # Safety
///
/// `cfg` is NULL or a live config; `buf` is NULL or valid for writes of `len` bytes; `out_n` is
/// NULL or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_config_last_error(
    cfg: *const relay_config,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> relay_result {
    guard(|| {
        // SAFETY: the caller's contract for every pointer.
        let (cfg, out) = unsafe { (in_ref(cfg)?, out_buf(buf.cast(), len, out_n)?) };
        let last = relay_core::sync::lock(&cfg.last_error).clone();
        out.write(last.as_bytes())
    })
}

/// Releases a config. NULL is a no-op. No other call on `cfg` may be in progress or follow.
///
/// # Safety
///
/// `cfg` is NULL or a config from `relay_config_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn relay_config_free(cfg: *mut relay_config) {
    guard_or((), || {
        if !cfg.is_null() {
            // SAFETY: made by `Box::into_raw` in `relay_config_new` and not freed yet (the
            // caller's contract); ownership comes back here once.
            drop(unsafe { Box::from_raw(cfg) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(cfg: *mut relay_config, key: &str, value: &str) -> relay_result {
        // SAFETY: `cfg` is live; the views point into live strings.
        unsafe {
            relay_config_set(
                cfg,
                key.as_ptr().cast(),
                key.len(),
                value.as_ptr().cast(),
                value.len(),
            )
        }
    }

    #[test]
    fn set_applies_whole_settings_or_nothing() {
        let mut cfg = std::ptr::null_mut();
        // SAFETY: `cfg` is a valid place for the pointer.
        assert_eq!(unsafe { relay_config_new(&mut cfg) }, relay_result::Ok);
        assert!(!cfg.is_null());
        assert_eq!(set(cfg, "listen", "127.0.0.1:0"), relay_result::Ok);
        assert_eq!(set(cfg, "nope", "1"), relay_result::ConfigUnknownKey);
        assert_eq!(set(cfg, "listen", "nowhere"), relay_result::ConfigBadValue);
        assert_eq!(set(cfg, "head-timeout", "0"), relay_result::ConfigBadValue);
        // SAFETY: `cfg` is live and not shared.
        let c = unsafe { &*cfg }.lock().clone();
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!(c.head_timeout, Config::default().head_timeout);

        let bad = [0xffu8, 0xfe];
        // SAFETY: `bad` is valid for 2 bytes.
        let r = unsafe { relay_config_set(cfg, bad.as_ptr().cast(), 2, std::ptr::null(), 0) };
        assert_eq!(r, relay_result::InvalidUtf8);
        // SAFETY: NULL with a length is refused before any read.
        let r = unsafe { relay_config_set(cfg, std::ptr::null(), 3, std::ptr::null(), 0) };
        assert_eq!(r, relay_result::NullParameter);
        assert_eq!(
            set(std::ptr::null_mut(), "listen", "x"),
            relay_result::NullParameter
        );
        // SAFETY: NULL `out` is refused; `cfg` is freed once; NULL is a no-op.
        unsafe {
            assert_eq!(
                relay_config_new(std::ptr::null_mut()),
                relay_result::NullParameter
            );
            relay_config_free(cfg);
            relay_config_free(std::ptr::null_mut());
        }
    }

    #[test]
    fn toml_text_applies_whole_or_not_at_all_and_says_why() {
        let mut cfg = std::ptr::null_mut();
        // SAFETY: `cfg` is a valid place for the pointer.
        assert_eq!(unsafe { relay_config_new(&mut cfg) }, relay_result::Ok);
        let load = |text: &str| {
            // SAFETY: `cfg` is live; the view points into a live string.
            unsafe { relay_config_load_toml(cfg, text.as_ptr().cast(), text.len()) }
        };
        let last_error = || {
            let mut buf = [0u8; 256];
            let mut n = 0;
            // SAFETY: `cfg` is live; `buf` and `n` are valid for writes.
            let r = unsafe { relay_config_last_error(cfg, buf.as_mut_ptr().cast(), 256, &mut n) };
            assert_eq!(r, relay_result::Ok);
            String::from_utf8(buf[..n].to_vec()).unwrap()
        };
        let good = "listen = \"127.0.0.1:0\"\n[[source]]\npath = \"a.m3u\"\nmax-connections = 1\n";
        assert_eq!(load(good), relay_result::Ok);
        assert_eq!(last_error(), "");
        let bad = "share = \"never\"\nlisen = 1\n";
        assert_eq!(load(bad), relay_result::ConfigFileRefused);
        assert_eq!(
            last_error(),
            "config:2:1: unknown setting `lisen` (see relay-server --help)"
        );
        // SAFETY: `cfg` is live and not shared.
        let c = unsafe { &*cfg }.lock().clone();
        assert_eq!(c.listen.to_string(), "127.0.0.1:0");
        assert_eq!(
            c.share,
            relay_core::config::Share::Auto,
            "nothing of a refused text"
        );
        assert_eq!(c.sources.len(), 1);
        let mut n = 0;
        // SAFETY: a size query: NULL buffer with length 0.
        let r = unsafe { relay_config_last_error(cfg, std::ptr::null_mut(), 0, &mut n) };
        let want = "config:2:1: unknown setting `lisen` (see relay-server --help)".len();
        assert_eq!((r, n), (relay_result::InsufficientSize, want));
        // SAFETY: `cfg` is freed once.
        unsafe { relay_config_free(cfg) };
    }
}
