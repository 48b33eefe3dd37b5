//! The benchmark corpus and the small text helpers the loaders share.

use std::path::Path;

/// Reads a text file as UTF-8, falling back to Latin-1 (some SentEval files use it).
pub fn read_text(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => e.into_bytes().iter().map(|&b| char::from(b)).collect(),
    })
}

/// Splits one line of a CSV file with `"`-quoted fields (AG News).
pub fn csv_fields(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    fields.push(cur);
    fields
}

/// The benchmark corpus: every text of the sentence-level evaluation sets, one per
/// element, in a fixed order (STS-B, SST-2, TREC, MR, CR, SUBJ, MPQA, AG News).
pub fn corpus(data: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    for split in ["train", "dev", "test"] {
        let text = read_text(&data.join(format!("stsbenchmark/sts-{split}.csv")))?;
        for line in text.lines() {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() >= 7 {
                out.push(cols[5].to_string());
                out.push(cols[6].to_string());
            }
        }
    }
    for split in ["train", "dev", "test"] {
        let text = read_text(&data.join(format!("senteval/SST/binary/sentiment-{split}")))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.rsplit_once('\t'))
                .map(|(t, _)| t.to_string()),
        );
    }
    for f in ["train_5500.label", "TREC_10.label"] {
        let text = read_text(&data.join("senteval/TREC").join(f))?;
        out.extend(
            text.lines()
                .filter_map(|l| l.split_once(' '))
                .map(|(_, t)| t.to_string()),
        );
    }
    for f in [
        "MR/rt-polarity.pos",
        "MR/rt-polarity.neg",
        "CR/custrev.pos",
        "CR/custrev.neg",
        "SUBJ/subj.objective",
        "SUBJ/subj.subjective",
        "MPQA/mpqa.pos",
        "MPQA/mpqa.neg",
    ] {
        let text = read_text(&data.join("senteval").join(f))?;
        out.extend(text.lines().map(str::to_string));
    }
    let text = read_text(&data.join("ag_news/test.csv"))?;
    for line in text.lines() {
        let f = csv_fields(line);
        if f.len() >= 3 {
            out.push(format!("{} {}", f[1], f[2].replace('\\', " ")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared_data;

    #[test]
    fn csv_handles_quotes() {
        assert_eq!(csv_fields(r#""3","a, ""b""",c"#), ["3", "a, \"b\"", "c"]);
    }

    #[test]
    fn corpus_has_every_set() {
        let Some(data) = shared_data() else { return };
        let c = corpus(&data).unwrap();
        // STS-B 2*(5749+1500+1379) + SST 67349+872+1821 + TREC 5952 + MR 10662
        // + CR 3775 + SUBJ 10000 + MPQA 10606 + AG 7600, give or take malformed rows.
        assert!(c.len() > 130_000, "{}", c.len());
        assert!(c.iter().any(|t| t == "A girl is styling her hair."));
    }
}
