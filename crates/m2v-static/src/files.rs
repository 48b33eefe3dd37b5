//! Opening a model's files: regular files only, JSON files within a size limit.
//!
//! A FIFO named `config.json` or `model.safetensors` would block `open` or `read`
//! forever, and a `tokenizer.json` linked to an endless device (`/dev/zero`) would be
//! read until memory runs out. So every file of a model is opened without blocking
//! (`O_NONBLOCK` on unix, which changes nothing for a regular file), checked to be a
//! regular file on the open descriptor (no race between the check and the read), and a
//! JSON file is refused when larger than its limit before any byte is read.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::Error;

/// The largest `config.json` / `config_sentence_transformers.json` accepted (real ones
/// are under 4 KiB).
pub const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The largest `tokenizer.json` accepted (multilingual ones are 10 to 35 MiB).
pub const MAX_TOKENIZER_BYTES: u64 = 512 << 20;

fn bad(path: &Path, message: String) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message,
    }
}

/// Opens `path` for reading if it is a regular file (after following symlinks) of at
/// most `limit` bytes; returns the file and its length.
pub(crate) fn open_regular(path: &Path, limit: Option<u64>) -> Result<(File, u64), Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        const O_NONBLOCK: i32 = 0o4000;
        opts.custom_flags(O_NONBLOCK);
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        // No portable O_NONBLOCK value without libc: check before opening (a FIFO
        // swapped in between is the remaining, unlikely, race).
        let meta = std::fs::metadata(path).map_err(io)?;
        if !meta.is_file() {
            return Err(bad(path, not_regular(&meta)));
        }
    }
    let file = opts.open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(bad(path, not_regular(&meta)));
    }
    let len = meta.len();
    if let Some(limit) = limit
        && len > limit
    {
        return Err(bad(
            path,
            format!("{len} bytes, more than the {limit}-byte limit for this file"),
        ));
    }
    Ok((file, len))
}

fn not_regular(meta: &std::fs::Metadata) -> String {
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        "a folder"
    } else {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if ft.is_fifo() {
                "a FIFO"
            } else if ft.is_char_device() {
                "a character device"
            } else if ft.is_block_device() {
                "a block device"
            } else if ft.is_socket() {
                "a socket"
            } else {
                "not a regular file"
            }
        }
        #[cfg(not(unix))]
        "not a regular file"
    };
    format!("not a regular file ({kind}); a model's files must be regular files")
}

/// Reads a whole regular file of at most `limit` bytes.
pub(crate) fn read_regular(path: &Path, limit: Option<u64>) -> Result<Vec<u8>, Error> {
    let (file, len) = open_regular(path, limit)?;
    let mut v = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // Never more than the limit, even if the file grows while it is read.
    let cap = limit.unwrap_or(u64::MAX).saturating_add(1);
    file.take(cap)
        .read_to_end(&mut v)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(limit) = limit
        && v.len() as u64 > limit
    {
        return Err(bad(
            path,
            format!("more than the {limit}-byte limit for this file"),
        ));
    }
    Ok(v)
}
