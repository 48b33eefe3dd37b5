//! What several subcommands read: a model named on the command line, text lines.

use std::io::BufRead;

use anyhow::{Context, Result, bail};
use m2v_static::{LoadOptions, StaticModel};

/// Loads the model named by a CLI argument. m2v-static's errors name the file, so a
/// local folder gets no extra context (it would print the path twice); a hub id is
/// named, since the error shows only the snapshot folder it resolved to.
pub fn load_model(arg: &str) -> Result<StaticModel> {
    let dir = crate::cmd::model_dir(arg)?;
    let loaded = StaticModel::load(&dir, &LoadOptions::new());
    if dir.as_os_str() == arg {
        Ok(loaded?)
    } else {
        loaded.with_context(|| format!("loading model {arg}"))
    }
}

/// `--max-length`: a number of tokens or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxLength(pub Option<usize>);

impl std::str::FromStr for MaxLength {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(MaxLength(None));
        }
        s.parse::<usize>()
            .map(|n| MaxLength(Some(n)))
            .map_err(|_| format!("`{s}` is neither a number of tokens nor `none`"))
    }
}

/// Reads `\n`-separated lines (dropping a `\r` before the `\n`) as UTF-8 strings,
/// failing on invalid UTF-8 with the 1-based line number unless `lossy`.
pub struct LineReader<R> {
    r: R,
    lossy: bool,
    buf: Vec<u8>,
    lines: u64,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(r: R, lossy: bool) -> Self {
        LineReader {
            r,
            lossy,
            buf: Vec::new(),
            lines: 0,
        }
    }

    /// The next line, `None` at the end of the input.
    pub fn next_line(&mut self) -> Result<Option<String>> {
        self.buf.clear();
        let n = self.r.read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.lines += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        match std::str::from_utf8(&self.buf) {
            Ok(s) => Ok(Some(s.to_string())),
            Err(_) if self.lossy => Ok(Some(String::from_utf8_lossy(&self.buf).into_owned())),
            Err(e) => bail!(
                "line {}: invalid UTF-8 at byte {} (use --lossy to replace it)",
                self.lines,
                e.valid_up_to() + 1
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_utf8() {
        let mut r = LineReader::new(&b"a\r\n\nb\xffc\nlast"[..], false);
        assert_eq!(r.next_line().unwrap().as_deref(), Some("a"));
        assert_eq!(r.next_line().unwrap().as_deref(), Some(""));
        let e = r.next_line().unwrap_err().to_string();
        assert!(e.contains("line 3"), "{e}");
        let mut r = LineReader::new(&b"b\xffc\nlast"[..], true);
        assert_eq!(r.next_line().unwrap().as_deref(), Some("b\u{fffd}c"));
        assert_eq!(r.next_line().unwrap().as_deref(), Some("last"));
        assert_eq!(r.next_line().unwrap(), None);
        assert_eq!("none".parse::<MaxLength>(), Ok(MaxLength(None)));
        assert_eq!("12".parse::<MaxLength>(), Ok(MaxLength(Some(12))));
        assert!("x".parse::<MaxLength>().is_err());
    }
}
