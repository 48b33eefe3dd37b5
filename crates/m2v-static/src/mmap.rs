//! Read-only memory maps of `model.safetensors`, through the C library's `mmap` that
//! std already links on unix (declared here, so the crate keeps zero dependencies).
//!
//! Mapping instead of reading makes loading independent of the table's size: no copy
//! out of the page cache and no page faults on fresh heap (together most of the time
//! of reading potion-base-8M; see `docs/bench.md`, "Tuning notes"), and the rows a
//! text never touches are never read.
//!
//! The rule: a file is mapped only where it cannot change under the model. Reading a
//! mapped page of a file truncated since raises SIGBUS (the process dies, exit 135),
//! and a file rewritten in place changes bytes behind the model's shared references.
//! So [`crate::StaticModel::load`] maps by default only a Hugging Face cache blob
//! ([`is_immutable_blob`]: the resolved path is `.../models--ORG--NAME/blobs/HASH`;
//! blobs are written once under a temporary name, renamed, and never rewritten, by
//! `huggingface_hub` and `m2v-hub` alike), or any file when the caller opts in with
//! [`crate::LoadOptions::memory_map`]`(true)`; every other file is read into memory.
//! See `docs/robustness.md`.

use std::io;
use std::path::Path;

/// A read-only private mapping of a whole file.
#[derive(Debug)]
pub(crate) struct Mapped {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value until `drop`; sharing
// `&[u8]` views of it between threads is as safe as sharing a `Vec<u8>`'s.
unsafe impl Send for Mapped {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for Mapped {}

impl AsRef<[u8]> for Mapped {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: `ptr` points to `len` readable bytes mapped in `map` and unmapped only
        // in `drop`, which cannot run while this borrow lives.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

#[cfg(all(unix, target_pointer_width = "64"))]
mod sys {
    use std::ffi::{c_int, c_void};

    pub const PROT_READ: c_int = 1;
    pub const MAP_PRIVATE: c_int = 2;

    unsafe extern "C" {
        pub fn mmap(
            addr: *mut c_void,
            len: usize,
            prot: c_int,
            flags: c_int,
            fd: c_int,
            offset: i64,
        ) -> *mut c_void;
        pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
        #[cfg(target_os = "linux")]
        pub fn madvise(addr: *mut c_void, len: usize, advice: c_int) -> c_int;
    }
}

/// `true` when `path`, symlinks resolved, is a blob of a Hugging Face cache: a file
/// directly in a folder named `blobs` inside a repository folder (`models--...`,
/// `datasets--...` or `spaces--...`). Such a file is content-addressed and never
/// rewritten, so it may be mapped (see the module docs).
pub(crate) fn is_immutable_blob(path: &Path) -> bool {
    let Ok(real) = std::fs::canonicalize(path) else {
        return false;
    };
    let Some(blobs) = real.parent() else {
        return false;
    };
    let repo = blobs.parent().and_then(Path::file_name);
    blobs.file_name() == Some("blobs".as_ref())
        && repo.and_then(|r| r.to_str()).is_some_and(|r| {
            ["models--", "datasets--", "spaces--"]
                .iter()
                .any(|p| r.starts_with(p))
        })
}

/// Maps `file` (opened and checked to be a regular file by the caller); `Ok(None)`
/// where mapping is not available (non-unix or 32-bit targets, empty files) so the
/// caller reads the file instead.
pub(crate) fn map(file: &std::fs::File) -> io::Result<Option<Mapped>> {
    #[cfg(all(unix, target_pointer_width = "64"))]
    {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(file.metadata()?.len()).map_err(io::Error::other)?;
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: a fresh read-only private mapping of an open file descriptor; the
        // result is checked against MAP_FAILED before use. The descriptor may be closed
        // afterwards (the mapping keeps the file).
        let ptr = unsafe {
            sys::mmap(
                std::ptr::null_mut(),
                len,
                sys::PROT_READ,
                sys::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr as isize == -1 {
            return Err(io::Error::last_os_error());
        }
        Ok(Some(Mapped {
            ptr: ptr as *const u8,
            len,
        }))
    }
    #[cfg(not(all(unix, target_pointer_width = "64")))]
    {
        let _ = file;
        Ok(None)
    }
}

impl Mapped {
    /// Drops the pages of the mapping from this process's memory (Linux
    /// `MADV_DONTNEED`), after the table was copied out of it (see `promote`). The
    /// mapping stays valid: a later read faults its page in again from the file, which
    /// is unchanged (the module's invariant). A no-op elsewhere.
    pub(crate) fn release_resident(&self) {
        #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
        {
            const MADV_DONTNEED: std::ffi::c_int = 4;
            // SAFETY: `ptr`/`len` are exactly what `mmap` returned and still mapped; on a
            // read-only private file mapping (never written, so no private copies),
            // MADV_DONTNEED only unmaps pages that refault with the same contents.
            unsafe {
                sys::madvise(self.ptr as *mut std::ffi::c_void, self.len, MADV_DONTNEED);
            }
        }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        #[cfg(all(unix, target_pointer_width = "64"))]
        // SAFETY: `ptr`/`len` are exactly what `mmap` returned; no borrow outlives self.
        unsafe {
            sys::munmap(self.ptr as *mut std::ffi::c_void, self.len);
        }
    }
}

/// Asks the kernel to back the whole 2 MiB pages inside `buf` with transparent huge
/// pages (Linux `MADV_HUGEPAGE`), before anything is written to them: a large output
/// matrix then costs one page fault per 2 MiB instead of one per 4 KiB (the faults were
/// a large share of the encode time of a large batch). Only a hint: contents are
/// unchanged, and failure (or another OS) leaves the normal pages.
///
/// Known cost: on a virtual machine whose host backs guest memory lazily, the first
/// touch of never-used huge pages is slow: a first, cold encode can run slower with the
/// hint than without, while warm runs are faster with it (figures from the development
/// VM in `docs/bench.md`, "Tuning notes").
pub(crate) fn advise_huge_pages(buf: &mut [std::mem::MaybeUninit<f32>]) {
    advise_range(buf.as_mut_ptr() as usize, std::mem::size_of_val(buf));
}

/// A zeroed buffer of `len + 64` bytes advised onto huge pages (see
/// [`advise_huge_pages`]), and the offset `off < 64` at which `len` bytes placed there
/// have their byte `at` on a 64-byte boundary (the tables of `memory_map(false)` and of
/// promotion: rows then span whole cache lines).
pub(crate) fn huge_aligned(len: usize, at: usize) -> (Vec<u8>, usize) {
    let mut v = vec![0u8; len + 64];
    advise_range(v.as_mut_ptr() as usize, v.len());
    let off = (64 - (v.as_ptr() as usize + at) % 64) % 64;
    (v, off)
}

/// `MADV_HUGEPAGE` on the whole huge pages inside `[start, start + len)`, which the
/// caller borrows mutably.
fn advise_range(start: usize, len: usize) {
    #[cfg(all(target_os = "linux", target_pointer_width = "64"))]
    {
        const HUGE: usize = 2 << 20;
        const MADV_HUGEPAGE: std::ffi::c_int = 14;
        let end = start + len;
        let first = start.next_multiple_of(HUGE);
        let last = end / HUGE * HUGE;
        if last > first {
            // SAFETY: [first, last) lies inside the caller's mutably borrowed buffer;
            // MADV_HUGEPAGE changes neither the mapping nor its contents.
            unsafe {
                sys::madvise(first as *mut std::ffi::c_void, last - first, MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
    let _ = (start, len);
}
