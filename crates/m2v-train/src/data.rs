//! Training data from CSV, TSV or JSONL files with named columns.
//!
//! - CSV/TSV: a header row names the columns; every value is a string. A multi-label
//!   cell lists its labels split by a separator (`--label-separator`); a vector cell
//!   holds numbers separated by commas or whitespace, or a JSON array.
//! - JSONL: one JSON object per line; a label is a string or an integer, a list of
//!   them for multi-label data; a target is a number or an array of numbers.
//!
//! Every error names the file, the 1-based row (the line for JSONL, the record after
//! the header for CSV) and the column.

use std::path::{Path, PathBuf};

use m2v_static::Label;

use crate::error::Error;

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated, with a header.
    Csv,
    /// Tab-separated, with a header.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// The format a file's extension names (`.csv`, `.tsv`/`.tab`, `.jsonl`/`.ndjson`/`.json`).
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "tsv" | "tab" => Some(Format::Tsv),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// What the target column holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// Class labels; in CSV/TSV, `separator` splits a cell into several labels
    /// (multi-label data).
    Classes {
        /// The multi-label separator, for CSV/TSV.
        separator: Option<String>,
    },
    /// Numbers or vectors of numbers (regression, similarity).
    Vectors,
    /// No target: a second text column (pairs).
    Pairs,
}

/// Which columns to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The text column (`text`, or `text_a` for pairs).
    pub text: String,
    /// The target column (`label`), or the second text of a pair (`text_b`).
    pub target: String,
}

/// The targets of a data file.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// One class per row.
    Single(Vec<Label>),
    /// Any number of classes per row.
    Multi(Vec<Vec<Label>>),
    /// One vector per row, `rows × dim`.
    Vectors {
        /// The vector length.
        dim: usize,
        /// The values.
        data: Vec<f32>,
    },
    /// The second text of each pair.
    Texts(Vec<String>),
}

/// A read data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    /// Where it came from.
    pub path: PathBuf,
    /// The texts.
    pub texts: Vec<String>,
    /// The targets, one per text.
    pub targets: Targets,
}

enum Cell<'a> {
    Str(&'a str),
    Json(&'a serde_json::Value),
}

/// Reads a data file.
pub fn read(
    path: &Path,
    format: Option<Format>,
    columns: &Columns,
    kind: &TargetKind,
) -> Result<Data, Error> {
    let format = format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| Error::Data {
            path: path.to_path_buf(),
            message: "unknown data format: name the file .csv, .tsv or .jsonl (or pass --format)"
                .into(),
        })?;
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(path).map_err(io)?;
    let row_err = |row: usize, message: String| Error::Row {
        path: path.to_path_buf(),
        row,
        message,
    };
    let mut builder = Builder::new(kind, columns);
    match format {
        Format::Csv | Format::Tsv => {
            let mut rdr = csv::ReaderBuilder::new()
                .delimiter(if format == Format::Csv { b',' } else { b'\t' })
                .quoting(format == Format::Csv)
                .flexible(false)
                .from_reader(bytes.as_slice());
            let headers = rdr
                .headers()
                .map_err(|e| row_err(0, format!("header: {e}")))?
                .clone();
            let find = |name: &str| {
                headers
                    .iter()
                    .position(|h| h == name)
                    .ok_or_else(|| Error::Data {
                        path: path.to_path_buf(),
                        message: format!(
                            "no column `{name}` in the header (columns: {})",
                            headers.iter().collect::<Vec<_>>().join(", ")
                        ),
                    })
            };
            let (ti, gi) = (find(&columns.text)?, find(&columns.target)?);
            for (i, rec) in rdr.records().enumerate() {
                let row = i + 1;
                let rec = rec.map_err(|e| row_err(row, e.to_string()))?;
                let text = rec.get(ti).unwrap_or("");
                let target = rec.get(gi).unwrap_or("");
                builder
                    .push(text, Cell::Str(target))
                    .map_err(|m| row_err(row, m))?;
            }
        }
        Format::Jsonl => {
            let text = std::str::from_utf8(&bytes).map_err(|e| Error::Data {
                path: path.to_path_buf(),
                message: format!("not UTF-8: {e}"),
            })?;
            for (i, line) in text.lines().enumerate() {
                let row = i + 1;
                if line.trim().is_empty() {
                    continue;
                }
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| row_err(row, format!("not a JSON object: {e}")))?;
                let obj = v
                    .as_object()
                    .ok_or_else(|| row_err(row, "not a JSON object".into()))?;
                let text = match obj.get(&columns.text) {
                    Some(serde_json::Value::String(s)) => s.as_str(),
                    Some(other) => {
                        return Err(row_err(
                            row,
                            format!("column `{}` is not a string ({other})", columns.text),
                        ));
                    }
                    None => return Err(row_err(row, format!("no column `{}`", columns.text))),
                };
                let target = obj
                    .get(&columns.target)
                    .ok_or_else(|| row_err(row, format!("no column `{}`", columns.target)))?;
                builder
                    .push(text, Cell::Json(target))
                    .map_err(|m| row_err(row, m))?;
            }
        }
    }
    let data = builder.finish(path.to_path_buf());
    if data.texts.is_empty() {
        return Err(Error::Data {
            path: path.to_path_buf(),
            message: "no rows".into(),
        });
    }
    Ok(data)
}

struct Builder<'a> {
    kind: &'a TargetKind,
    columns: &'a Columns,
    texts: Vec<String>,
    single: Vec<Label>,
    multi: Option<Vec<Vec<Label>>>,
    dim: Option<usize>,
    vectors: Vec<f32>,
    texts_b: Vec<String>,
}

fn label_of_json(v: &serde_json::Value, col: &str) -> Result<Label, String> {
    match v {
        serde_json::Value::String(s) if !s.is_empty() => Ok(Label::Str(s.clone())),
        serde_json::Value::Number(n) if n.as_i64().is_some() => {
            Ok(Label::Int(n.as_i64().unwrap_or(0)))
        }
        other => Err(format!(
            "column `{col}`: a label must be a non-empty string or an integer, got {other}"
        )),
    }
}

fn number_list(s: &str, col: &str) -> Result<Vec<f32>, String> {
    let t = s.trim();
    if t.starts_with('[') {
        let v: serde_json::Value =
            serde_json::from_str(t).map_err(|e| format!("column `{col}`: {e}"))?;
        return json_numbers(&v, col);
    }
    t.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<f32>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| format!("column `{col}`: `{p}` is not a finite number"))
        })
        .collect()
}

fn json_numbers(v: &serde_json::Value, col: &str) -> Result<Vec<f32>, String> {
    let one = |x: &serde_json::Value| {
        x.as_f64()
            .map(|f| f as f32)
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("column `{col}`: {x} is not a finite number"))
    };
    match v {
        serde_json::Value::Array(items) => items.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

impl<'a> Builder<'a> {
    fn new(kind: &'a TargetKind, columns: &'a Columns) -> Self {
        Builder {
            kind,
            columns,
            texts: Vec::new(),
            single: Vec::new(),
            multi: None,
            dim: None,
            vectors: Vec::new(),
            texts_b: Vec::new(),
        }
    }

    fn push(&mut self, text: &str, target: Cell<'_>) -> Result<(), String> {
        let col = &self.columns.target;
        if text.trim().is_empty() {
            return Err(format!("column `{}` is empty", self.columns.text));
        }
        match self.kind {
            TargetKind::Pairs => {
                let b = match target {
                    Cell::Str(s) => s.to_string(),
                    Cell::Json(serde_json::Value::String(s)) => s.clone(),
                    Cell::Json(other) => {
                        return Err(format!("column `{col}` is not a string ({other})"));
                    }
                };
                if b.trim().is_empty() {
                    return Err(format!("column `{col}` is empty"));
                }
                self.texts_b.push(b);
            }
            TargetKind::Vectors => {
                let v = match target {
                    Cell::Str(s) => number_list(s, col)?,
                    Cell::Json(v) => json_numbers(v, col)?,
                };
                if v.is_empty() {
                    return Err(format!("column `{col}` is empty"));
                }
                match self.dim {
                    None => self.dim = Some(v.len()),
                    Some(d) if d != v.len() => {
                        return Err(format!(
                            "column `{col}` has {} values, earlier rows have {d}",
                            v.len()
                        ));
                    }
                    _ => {}
                }
                self.vectors.extend(v);
            }
            TargetKind::Classes { separator } => {
                let labels: Option<Vec<Label>> = match target {
                    Cell::Str(s) => match separator {
                        Some(sep) => Some(
                            s.split(sep.as_str())
                                .map(str::trim)
                                .filter(|p| !p.is_empty())
                                .map(|p| Label::Str(p.to_string()))
                                .collect(),
                        ),
                        None => {
                            if s.trim().is_empty() {
                                return Err(format!("column `{col}` is empty"));
                            }
                            self.single.push(Label::Str(s.to_string()));
                            None
                        }
                    },
                    Cell::Json(serde_json::Value::Array(items)) => Some(
                        items
                            .iter()
                            .map(|x| label_of_json(x, col))
                            .collect::<Result<_, _>>()?,
                    ),
                    Cell::Json(v) => {
                        self.single.push(label_of_json(v, col)?);
                        None
                    }
                };
                match labels {
                    Some(l) => {
                        if !self.single.is_empty() {
                            return Err(format!(
                                "column `{col}` holds a list of labels, earlier rows a single label"
                            ));
                        }
                        self.multi.get_or_insert_with(Vec::new).push(l);
                    }
                    None => {
                        if self.multi.is_some() {
                            return Err(format!(
                                "column `{col}` holds a single label, earlier rows a list"
                            ));
                        }
                    }
                }
            }
        }
        self.texts.push(text.to_string());
        Ok(())
    }

    fn finish(self, path: PathBuf) -> Data {
        let targets = match self.kind {
            TargetKind::Pairs => Targets::Texts(self.texts_b),
            TargetKind::Vectors => Targets::Vectors {
                dim: self.dim.unwrap_or(0),
                data: self.vectors,
            },
            TargetKind::Classes { .. } => match self.multi {
                Some(m) => Targets::Multi(m),
                None => Targets::Single(self.single),
            },
        };
        Data {
            path,
            texts: self.texts,
            targets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, body: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        (dir, p)
    }

    fn cols(t: &str, l: &str) -> Columns {
        Columns {
            text: t.into(),
            target: l.into(),
        }
    }

    #[test]
    fn csv_jsonl_and_tsv_read_alike() {
        let classes = TargetKind::Classes { separator: None };
        let (_d, p) = write("a.csv", "text,label\n\"hello, world\",pos\nbad day,neg\n");
        let a = read(&p, None, &cols("text", "label"), &classes).unwrap();
        let (_d, p) = write(
            "a.jsonl",
            "{\"text\":\"hello, world\",\"label\":\"pos\"}\n\n{\"text\":\"bad day\",\"label\":\"neg\"}\n",
        );
        let b = read(&p, None, &cols("text", "label"), &classes).unwrap();
        let (_d, p) = write("a.tsv", "label\ttext\npos\thello, world\nneg\tbad day\n");
        let c = read(&p, None, &cols("text", "label"), &classes).unwrap();
        assert_eq!((a.texts.clone(), a.targets.clone()), (b.texts, b.targets));
        assert_eq!((a.texts, a.targets), (c.texts, c.targets));
    }

    #[test]
    fn multi_label_and_vectors() {
        let (_d, p) = write("m.csv", "t,l\nx,a|b\ny,\n");
        let m = read(
            &p,
            None,
            &cols("t", "l"),
            &TargetKind::Classes {
                separator: Some("|".into()),
            },
        )
        .unwrap();
        assert_eq!(
            m.targets,
            Targets::Multi(vec![
                vec![Label::Str("a".into()), Label::Str("b".into())],
                vec![]
            ])
        );
        let (_d, p) = write(
            "v.jsonl",
            "{\"t\":\"x\",\"y\":[1,2.5]}\n{\"t\":\"z\",\"y\":\"ignored\"}\n",
        );
        let e = read(&p, None, &cols("t", "y"), &TargetKind::Vectors)
            .unwrap_err()
            .to_string();
        assert!(e.contains("row 2") && e.contains("column `y`"), "{e}");
        let (_d, p) = write("v.csv", "t,y\nx,1 2\nz,\"[3, 4]\"\n");
        let v = read(&p, None, &cols("t", "y"), &TargetKind::Vectors).unwrap();
        assert_eq!(
            v.targets,
            Targets::Vectors {
                dim: 2,
                data: vec![1.0, 2.0, 3.0, 4.0]
            }
        );
    }

    #[test]
    fn bad_rows_name_file_row_and_column() {
        let classes = TargetKind::Classes { separator: None };
        let (_d, p) = write("a.csv", "text,label\nok,pos\n,neg\n");
        let e = read(&p, None, &cols("text", "label"), &classes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("a.csv") && e.contains("row 2") && e.contains("`text` is empty"),
            "{e}"
        );
        let e = read(&p, None, &cols("sentence", "label"), &classes)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no column `sentence`") && e.contains("text, label"),
            "{e}"
        );
        let (_d, p) = write("v.csv", "t,y\nx,1 2\nz,3\n");
        let e = read(&p, None, &cols("t", "y"), &TargetKind::Vectors)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 2") && e.contains("1 values, earlier rows have 2"),
            "{e}"
        );
        let (_d, p) = write("v.csv", "t,y\nx,abc\n");
        let e = read(&p, None, &cols("t", "y"), &TargetKind::Vectors)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`abc` is not a finite number"), "{e}");
        let (_d, p) = write("x.txt", "t,y\n");
        let e = read(&p, None, &cols("t", "y"), &classes)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown data format"), "{e}");
    }
}
