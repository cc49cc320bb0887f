//! What the operating system's C library offers and std does not. The only `unsafe` here is the
//! call itself; every block says why it is sound.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// Gives memory the allocator holds free back to the operating system, where the C library can
/// (glibc's `malloc_trim`). A catalog or guide reload frees tens of MB at once; without this the
/// process keeps them resident (glibc returns only the top of its heaps on its own). Elsewhere a
/// no-op.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a plain size_t and only walks the allocator's own free lists
    // under its locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn releasing_free_memory_is_harmless() {
        let big: Vec<u8> = vec![1; 8 << 20];
        drop(big);
        super::release_free_memory();
        let again: Vec<u8> = vec![2; 1024];
        assert_eq!(again[1023], 2);
    }
}
