//! `relay_config`: the settings an engine is built from.

use crate::guard::{guard, guard_or, in_ref, in_str, out_ptr};
use crate::result::relay_result;
use relay_core::config::Config;
use std::ffi::c_char;
use std::sync::{Mutex, MutexGuard};

/// Settings for an engine (opaque). Made by `relay_config_new`, changed with
/// `relay_config_set`, read by `relay_engine_new` (which copies it), released with
/// `relay_config_free`. Thread-safe: calls on one config from several threads are serialised.
#[derive(Debug)]
pub struct relay_config {
    config: Mutex<Config>,
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
}
