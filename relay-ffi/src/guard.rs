//! The boundary every export goes through: panics are caught ([`guard`], [`guard_or`]),
//! pointers are checked before use (the `in_*` and `out_*` helpers), outputs are written only
//! once the call has succeeded ([`OutBuf`], [`OutPtr`]), and calls that must not run inside a
//! relay callback are refused ([`not_in_callback`]).

use crate::result::relay_result;
use std::cell::Cell;
use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs an export's body: `Ok` → `RELAY_RESULT_OK`, `Err(r)` → `r`, a panic →
/// `RELAY_RESULT_PANIC`. Bodies check every pointer before they change anything.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), relay_result>) -> relay_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => relay_result::Ok,
        Ok(Err(r)) => r,
        Err(_) => relay_result::Panic,
    }
}

/// [`guard`] for exports that return something other than a result (`void`, a length): a panic
/// gives `fallback`.
pub(crate) fn guard_or<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

thread_local! {
    /// Set while this thread runs a C callback of the library (the log callback).
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` (which calls into C) with this thread marked as inside a relay callback.
pub(crate) fn as_callback<R>(f: impl FnOnce() -> R) -> R {
    let was = IN_CALLBACK.with(|c| c.replace(true));
    let r = f();
    IN_CALLBACK.with(|c| c.set(was));
    r
}

/// Refuses calls that block on the engine (start, stop, free, reload, changing the log
/// callback) from inside a relay callback or from an engine thread: there they would deadlock,
/// or panic in the runtime.
pub(crate) fn not_in_callback() -> Result<(), relay_result> {
    let in_callback = IN_CALLBACK.with(Cell::get);
    if in_callback || tokio::runtime::Handle::try_current().is_ok() {
        return Err(relay_result::CalledFromCallback);
    }
    Ok(())
}

/// A shared reference from a pointer argument.
///
/// # Safety
///
/// `p` is NULL or points to a live `T` that outlives `'a` and is not mutated meanwhile except
/// through interior mutability.
pub(crate) unsafe fn in_ref<'a, T>(p: *const T) -> Result<&'a T, relay_result> {
    // SAFETY: the caller's contract: NULL or a live, properly aligned `T`.
    unsafe { p.as_ref() }.ok_or(relay_result::NullParameter)
}

/// A byte view from pointer + length; NULL is allowed only with length 0.
///
/// # Safety
///
/// When `len > 0` and `p` is not NULL, `p` is valid for reads of `len` bytes for `'a`, and
/// nothing writes them meanwhile.
pub(crate) unsafe fn in_bytes<'a>(p: *const u8, len: usize) -> Result<&'a [u8], relay_result> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(relay_result::NullParameter);
    }
    // SAFETY: non-NULL and valid for `len` bytes of reads for `'a` (the caller's contract).
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// A UTF-8 string view from pointer + length (no NUL needed); NULL only with length 0.
///
/// # Safety
///
/// As for [`in_bytes`].
pub(crate) unsafe fn in_str<'a>(p: *const c_char, len: usize) -> Result<&'a str, relay_result> {
    // SAFETY: forwarded to the caller's contract.
    let bytes = unsafe { in_bytes(p.cast(), len) }?;
    std::str::from_utf8(bytes).map_err(|_| relay_result::InvalidUtf8)
}

/// A checked output pointer (`T *out`), written only through [`OutPtr::set`].
pub(crate) struct OutPtr<T>(*mut T);

/// Checks an output pointer.
///
/// # Safety
///
/// `p` is NULL or valid for a write of `T` until the [`OutPtr`] is used.
pub(crate) unsafe fn out_ptr<T>(p: *mut T) -> Result<OutPtr<T>, relay_result> {
    if p.is_null() {
        return Err(relay_result::NullParameter);
    }
    Ok(OutPtr(p))
}

impl<T> OutPtr<T> {
    /// Writes the output (the call has succeeded).
    pub(crate) fn set(self, value: T) {
        // SAFETY: checked non-NULL at construction, and valid for a write of `T` by the
        // contract of `out_ptr`. `write` does not drop the old (uninitialised) contents.
        unsafe { self.0.write(value) }
    }
}

/// A checked output buffer: `buf` with capacity `len`, and `out_n` for the length written (or
/// needed).
pub(crate) struct OutBuf {
    buf: *mut u8,
    len: usize,
    out_n: OutPtr<usize>,
}

/// Checks an output buffer. `buf` may be NULL only when `len` is 0 (a size query).
///
/// # Safety
///
/// `buf` is NULL or valid for writes of `len` bytes, `out_n` is NULL or valid for a write of a
/// `size_t`, until the [`OutBuf`] is used.
pub(crate) unsafe fn out_buf(
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> Result<OutBuf, relay_result> {
    // SAFETY: forwarded to the caller's contract.
    let out_n = unsafe { out_ptr(out_n) }?;
    if buf.is_null() && len > 0 {
        return Err(relay_result::NullParameter);
    }
    Ok(OutBuf { buf, len, out_n })
}

impl OutBuf {
    /// Copies `data` into the buffer and sets `*out_n` to its length; if it does not fit,
    /// writes nothing but the length needed to `*out_n` and returns `INSUFFICIENT_SIZE`.
    pub(crate) fn write(self, data: &[u8]) -> Result<(), relay_result> {
        if data.len() > self.len {
            self.out_n.set(data.len());
            return Err(relay_result::InsufficientSize);
        }
        if !data.is_empty() {
            // SAFETY: `data.len() <= len`, so `buf` is non-NULL (NULL only with len 0) and valid
            // for the write (contract of `out_buf`); `data` is Rust-owned memory the caller
            // cannot name, so the two do not overlap.
            unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.buf, data.len()) };
        }
        self.out_n.set(data.len());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guard_maps_panics_and_errors() {
        assert_eq!(guard(|| Ok(())), relay_result::Ok);
        assert_eq!(
            guard(|| Err(relay_result::InvalidUtf8)),
            relay_result::InvalidUtf8
        );
        assert_eq!(guard(|| panic!("boom")), relay_result::Panic);
        assert_eq!(guard_or(7usize, || panic!("boom")), 7);
    }

    #[test]
    fn out_buf_writes_only_what_fits() {
        let mut buf = [0u8; 4];
        let mut n = 99usize;
        // SAFETY: both pointers are valid for the stated sizes.
        let out = unsafe { out_buf(buf.as_mut_ptr(), 4, &mut n) }.unwrap();
        assert_eq!(out.write(b"hello"), Err(relay_result::InsufficientSize));
        assert_eq!((n, buf), (5, [0; 4]));
        // SAFETY: as above.
        let out = unsafe { out_buf(buf.as_mut_ptr(), 4, &mut n) }.unwrap();
        assert_eq!(out.write(b"hey"), Ok(()));
        assert_eq!((n, &buf[..3]), (3, &b"hey"[..]));
        // SAFETY: NULL with length 0 is a size query; `n` is valid.
        let out = unsafe { out_buf(std::ptr::null_mut(), 0, &mut n) }.unwrap();
        assert_eq!(out.write(b"abc"), Err(relay_result::InsufficientSize));
        assert_eq!(n, 3);
        // SAFETY: NULL pointers are refused before any use.
        unsafe {
            assert!(out_buf(std::ptr::null_mut(), 1, &mut n).is_err());
            assert!(out_buf(buf.as_mut_ptr(), 4, std::ptr::null_mut()).is_err());
        }
    }
}
