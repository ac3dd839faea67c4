//! Memory hints for the large record buffers.

/// Ask the kernel to back a large, not yet touched buffer with transparent huge pages
/// (as numpy does for big arrays). Page faults on fresh 4 KiB pages otherwise dominate bulk
/// ingest and snapshot loads. A hint only: ignored where unsupported.
pub fn advise_huge_pages<T>(buf: &[T]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let bytes = std::mem::size_of_val(buf);
        if bytes < 2 * HUGE {
            return;
        }
        let start = buf.as_ptr() as usize;
        let aligned = (start + HUGE - 1) & !(HUGE - 1);
        let end = (start + bytes) & !(HUGE - 1);
        if end > aligned {
            // SAFETY: madvise only changes how the kernel backs pages of this mapping; the
            // range lies inside `buf`'s allocation, which outlives the call, and MADV_HUGEPAGE
            // never changes the contents.
            unsafe {
                libc::madvise(
                    aligned as *mut libc::c_void,
                    end - aligned,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buf;
}

/// Hand freed heap memory back to the operating system after bulk work whose temporaries
/// (PCA, weaving, undo copies) would otherwise stay in the allocator's per-thread arenas and
/// show as resident memory. A hint: a no-op where the allocator has no such call.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's own heaps to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}
