//! Loaders of the newer MTEB families from `../shared/data`: retrieval (SciFact, and
//! XQuAD per language and to English), clustering (20 Newsgroups subjects), pair
//! classification (Twitter URL), multilingual STS (STS-B machine-translated) and
//! bitext mining (Tatoeba).
//!
//! Every parser works on `&str` (unit-tested on a few lines) and the loader reads the
//! files; quick runs take seeded samples ([`SuiteOptions`]).

use std::collections::HashMap;
use std::path::Path;

use crate::corpus::csv_fields;
use crate::error::Error;
use crate::metrics::SplitMix64;
use crate::tasks::{
    Bitext, Clustering, Group, LabelledPairs, Pairs, Retrieval, SEED, SuiteOptions, Task, TaskData,
    parse_err, read, sample_pairs,
};

/// XQuAD's languages (ISO 639-1), as in `retrieval/xquad/`.
pub const XQUAD_LANGS: [&str; 12] = [
    "ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh",
];

/// STS-B-mt's languages, as in `multilingual/stsb-multi-mt/`.
pub const STSB_LANGS: [&str; 11] = [
    "de", "en", "es", "fr", "it", "ja", "nl", "pl", "pt", "ru", "zh",
];

/// The Tatoeba languages scored (ISO 639-1, Tatoeba's ISO 639-3 code): the other
/// families' languages but English, so that each language of the multilingual table
/// has a bitext score (MTEB's 112 are more than these static models cover).
pub const TATOEBA_LANGS: [(&str, &str); 17] = [
    ("ar", "ara"),
    ("de", "deu"),
    ("el", "ell"),
    ("es", "spa"),
    ("fr", "fra"),
    ("hi", "hin"),
    ("it", "ita"),
    ("ja", "jpn"),
    ("nl", "nld"),
    ("pl", "pol"),
    ("pt", "por"),
    ("ro", "ron"),
    ("ru", "rus"),
    ("th", "tha"),
    ("tr", "tur"),
    ("vi", "vie"),
    ("zh", "cmn"),
];

fn json_lines<'a>(
    text: &'a str,
    path: &'a Path,
) -> impl Iterator<Item = Result<(usize, serde_json::Value), Error>> + 'a {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(move |(i, l)| {
            serde_json::from_str(l)
                .map(|v| (i + 1, v))
                .map_err(|e| parse_err(path, i + 1, format!("invalid JSON: {e}")))
        })
}

fn field<'v>(
    v: &'v serde_json::Value,
    key: &str,
    path: &Path,
    line: usize,
) -> Result<&'v str, Error> {
    v.get(key)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| parse_err(path, line, format!("no string field `{key}`")))
}

/// Parses a BEIR `corpus.jsonl` into ids and texts; with `title`, a document's text
/// is `title + " " + text`, trimmed (what MTEB embeds), else the text alone.
pub fn parse_beir_corpus(
    text: &str,
    path: &Path,
    title: bool,
) -> Result<(Vec<String>, Vec<String>), Error> {
    let (mut ids, mut texts) = (Vec::new(), Vec::new());
    for r in json_lines(text, path) {
        let (line, v) = r?;
        ids.push(field(&v, "_id", path, line)?.to_string());
        let body = field(&v, "text", path, line)?;
        texts.push(if title {
            let t = v
                .get("title")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("");
            format!("{t} {body}").trim().to_string()
        } else {
            body.trim().to_string()
        });
    }
    Ok((ids, texts))
}

/// Parses a BEIR `qrels/*.tsv` (`query-id TAB corpus-id TAB score`, a header line).
pub fn parse_qrels(text: &str, path: &Path) -> Result<Vec<(String, String, f64)>, Error> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || (i == 0 && line.starts_with("query-id")) {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(parse_err(
                path,
                i + 1,
                "expected `query-id TAB corpus-id TAB score`",
            ));
        }
        let score: f64 = cols[2]
            .trim()
            .parse()
            .map_err(|_| parse_err(path, i + 1, format!("bad score `{}`", cols[2])))?;
        out.push((cols[0].to_string(), cols[1].to_string(), score));
    }
    Ok(out)
}

/// Builds a retrieval set from BEIR pieces: the queries that have a judgement in
/// `qrels` (in `queries.jsonl` order) over the whole corpus. A judged document
/// missing from the corpus is an error naming `qrels_path`.
fn beir_set(
    corpus: (Vec<String>, Vec<String>),
    queries: (Vec<String>, Vec<String>),
    qrels: &[(String, String, f64)],
    qrels_path: &Path,
) -> Result<Retrieval, Error> {
    let doc_index: HashMap<&str, usize> = corpus
        .0
        .iter()
        .enumerate()
        .map(|(i, d)| (d.as_str(), i))
        .collect();
    let mut judged: HashMap<&str, Vec<(usize, f64)>> = HashMap::new();
    for (q, d, s) in qrels {
        let Some(&j) = doc_index.get(d.as_str()) else {
            return Err(Error::Task {
                task: qrels_path.display().to_string(),
                what: format!("judged document `{d}` is not in the corpus"),
            });
        };
        judged.entry(q.as_str()).or_default().push((j, *s));
    }
    let mut out = Retrieval {
        corpus: corpus.1,
        ..Default::default()
    };
    for (id, text) in queries.0.iter().zip(queries.1) {
        if let Some(r) = judged.remove(id.as_str()) {
            out.queries.push(text);
            out.qrels.push(r);
        }
    }
    Ok(out)
}

fn sample_indices(n: usize, max: usize, salt: u64) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..n).collect();
    SplitMix64::new(SEED ^ salt).shuffle(&mut idx);
    idx.truncate(max);
    idx.sort_unstable();
    idx
}

/// A quick run's slice of a retrieval set: a seeded sample of queries, their judged
/// documents plus a seeded sample of the others up to `max_docs`, documents cut to
/// `doc_chars` characters.
pub fn slice_retrieval(mut r: Retrieval, opts: &SuiteOptions) -> Retrieval {
    if let Some(m) = opts.max_queries.filter(|&m| m < r.queries.len()) {
        let keep = sample_indices(r.queries.len(), m, 1);
        r.queries = keep.iter().map(|&i| r.queries[i].clone()).collect();
        r.qrels = keep.iter().map(|&i| r.qrels[i].clone()).collect();
    }
    if let Some(m) = opts.max_docs.filter(|&m| m < r.corpus.len()) {
        let mut keep: Vec<usize> = r.qrels.iter().flatten().map(|(d, _)| *d).collect();
        keep.sort_unstable();
        keep.dedup();
        let mut others: Vec<usize> = (0..r.corpus.len())
            .filter(|d| keep.binary_search(d).is_err())
            .collect();
        SplitMix64::new(SEED ^ 2).shuffle(&mut others);
        others.truncate(m.saturating_sub(keep.len()));
        keep.extend(others);
        keep.sort_unstable();
        let new_index: HashMap<usize, usize> =
            keep.iter().enumerate().map(|(n, &o)| (o, n)).collect();
        r.corpus = keep.iter().map(|&i| r.corpus[i].clone()).collect();
        for q in &mut r.qrels {
            for (d, _) in q.iter_mut() {
                *d = new_index[d];
            }
        }
    }
    if let Some(c) = opts.doc_chars {
        for d in &mut r.corpus {
            if let Some((cut, _)) = d.char_indices().nth(c) {
                d.truncate(cut);
            }
        }
    }
    r
}

/// Parses 20 Newsgroups' jsonl (`label`, `subject`): the subjects and dense labels in
/// sorted label-name order.
pub fn parse_newsgroups(
    text: &str,
    path: &Path,
) -> Result<(Vec<String>, Vec<usize>, usize), Error> {
    let mut rows = Vec::new();
    for r in json_lines(text, path) {
        let (line, v) = r?;
        rows.push((
            field(&v, "subject", path, line)?.trim().to_string(),
            field(&v, "label", path, line)?.to_string(),
        ));
    }
    let mut names: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let labels = rows
        .iter()
        .map(|r| names.binary_search(&r.1.as_str()).unwrap_or(0))
        .collect();
    let k = names.len();
    Ok((rows.into_iter().map(|r| r.0).collect(), labels, k))
}

/// Parses Twitter URL's jsonl (`sentence1`, `sentence2`, `label` 0/1).
pub fn parse_pair_jsonl(text: &str, path: &Path) -> Result<LabelledPairs, Error> {
    let mut out = LabelledPairs::default();
    for r in json_lines(text, path) {
        let (line, v) = r?;
        let label = match v.get("label").and_then(serde_json::Value::as_i64) {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(parse_err(path, line, "`label` must be 0 or 1")),
        };
        out.pairs.push((
            field(&v, "sentence1", path, line)?.to_string(),
            field(&v, "sentence2", path, line)?.to_string(),
        ));
        out.labels.push(label);
    }
    Ok(out)
}

/// Parses an STS-B-mt CSV (`s1,s2,score`, quoted fields).
pub fn parse_stsb_mt(name: &str, text: &str, path: &Path) -> Result<Pairs, Error> {
    let mut out = Pairs {
        name: name.to_string(),
        ..Default::default()
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line);
        if f.len() != 3 {
            return Err(parse_err(
                path,
                i + 1,
                format!("expected 3 CSV fields, got {}", f.len()),
            ));
        }
        let score: f64 = f[2]
            .trim()
            .parse()
            .map_err(|_| parse_err(path, i + 1, format!("bad score `{}`", f[2])))?;
        out.pairs.push((f[0].clone(), f[1].clone()));
        out.gold.push(score);
    }
    Ok(out)
}

/// Pairs two line-aligned Tatoeba files; differing line counts are an error.
pub fn parse_bitext(source: &str, target: &str, path: &Path) -> Result<Bitext, Error> {
    let s: Vec<String> = source.lines().map(|l| l.trim().to_string()).collect();
    let t: Vec<String> = target.lines().map(|l| l.trim().to_string()).collect();
    if s.len() != t.len() {
        return Err(Error::Length {
            what: format!("{}: aligned lines", path.display()),
            expected: s.len(),
            actual: t.len(),
        });
    }
    Ok(Bitext {
        source: s,
        target: t,
    })
}

fn wanted(lang: &str, opts: &SuiteOptions) -> bool {
    opts.languages.is_none_or(|l| l.contains(&lang))
}

fn push(tasks: &mut Vec<Task>, name: String, group: Group, lang: Option<&str>, data: TaskData) {
    tasks.push(Task {
        name,
        group,
        lang: lang.map(str::to_string),
        data,
    });
}

/// Appends the newer families' tasks to `tasks` (see the module doc).
pub(crate) fn load_families(
    data: &Path,
    opts: &SuiteOptions,
    tasks: &mut Vec<Task>,
) -> Result<(), Error> {
    // SciFact: test queries, title + text documents.
    let dir = data.join("retrieval/scifact");
    let beir = |dir: &Path, title: bool| -> Result<_, Error> {
        let cp = dir.join("corpus.jsonl");
        let qp = dir.join("queries.jsonl");
        let rp = dir.join("qrels/test.tsv");
        Ok((
            parse_beir_corpus(&read(&cp)?, &cp, title)?,
            parse_beir_corpus(&read(&qp)?, &qp, false)?,
            parse_qrels(&read(&rp)?, &rp)?,
            rp,
        ))
    };
    let (c, q, r, rp) = beir(&dir, true)?;
    let scifact = slice_retrieval(beir_set(c, q, &r, &rp)?, opts);
    push(
        tasks,
        "SciFact".into(),
        Group::Retrieval,
        None,
        TaskData::Retrieval(scifact),
    );

    let p = data.join("clustering/twentynewsgroups/test.jsonl");
    let (texts, labels, k) = parse_newsgroups(&read(&p)?, &p)?;
    let (texts, labels) = match opts.max_cluster.filter(|&m| m < texts.len()) {
        Some(m) => {
            let keep = sample_indices(texts.len(), m, 3);
            (
                keep.iter().map(|&i| texts[i].clone()).collect(),
                keep.iter().map(|&i| labels[i]).collect(),
            )
        }
        None => (texts, labels),
    };
    push(
        tasks,
        "20NG".into(),
        Group::Clustering,
        None,
        TaskData::Clustering(Clustering {
            texts,
            labels,
            n_classes: k,
            seeds: opts.cluster_seeds.max(1),
        }),
    );

    let p = data.join("pair-classification/twitter-url/twitter_url_corpus_test.jsonl");
    let mut tw = parse_pair_jsonl(&read(&p)?, &p)?;
    if let Some(m) = opts.max_ml_pairs.filter(|&m| m < tw.pairs.len()) {
        let keep = sample_indices(tw.pairs.len(), m, 4);
        tw.pairs = keep.iter().map(|&i| tw.pairs[i].clone()).collect();
        tw.labels = keep.iter().map(|&i| tw.labels[i]).collect();
    }
    push(
        tasks,
        "TwitterURL".into(),
        Group::PairClassification,
        None,
        TaskData::PairClassification(tw),
    );

    // XQuAD: paragraphs without their (English) article title.
    let xq = data.join("retrieval/xquad");
    let en = beir(&xq.join("en"), false)?;
    for lang in XQUAD_LANGS.iter().filter(|l| wanted(l, opts)) {
        let (c, q, r, rp) = beir(&xq.join(lang), false)?;
        let mono = slice_retrieval(beir_set(c, q.clone(), &r, &rp)?, opts);
        push(
            tasks,
            format!("XQuAD-{lang}"),
            Group::MlRetrieval,
            Some(lang),
            TaskData::Retrieval(mono),
        );
        if *lang != "en" {
            // Parallel paragraph ids: the language's questions against English paragraphs.
            let cross = slice_retrieval(beir_set(en.0.clone(), q, &r, &rp)?, opts);
            push(
                tasks,
                format!("XQuAD-{lang}-en"),
                Group::CrossRetrieval,
                Some(lang),
                TaskData::Retrieval(cross),
            );
        }
    }
    let mt = data.join("multilingual/stsb-multi-mt");
    for lang in STSB_LANGS.iter().filter(|l| wanted(l, opts)) {
        let p = mt.join(format!("stsb-{lang}-test.csv"));
        let name = format!("STSb-{lang}");
        let pairs = sample_pairs(parse_stsb_mt(&name, &read(&p)?, &p)?, opts.max_ml_pairs);
        push(
            tasks,
            name,
            Group::MlSts,
            Some(lang),
            TaskData::Sts(vec![pairs]),
        );
    }
    let tb = data.join("multilingual/tatoeba");
    for (lang, iso3) in TATOEBA_LANGS.iter().filter(|(l, _)| wanted(l, opts)) {
        let sp = tb.join(format!("tatoeba.{iso3}-eng.{iso3}"));
        let tp = tb.join(format!("tatoeba.{iso3}-eng.eng"));
        let mut b = parse_bitext(&read(&sp)?, &read(&tp)?, &sp)?;
        if let Some(m) = opts.max_ml_pairs.filter(|&m| m < b.source.len()) {
            let keep = sample_indices(b.source.len(), m, 5);
            b.source = keep.iter().map(|&i| b.source[i].clone()).collect();
            b.target = keep.iter().map(|&i| b.target[i].clone()).collect();
        }
        push(
            tasks,
            format!("Tatoeba-{lang}"),
            Group::Bitext,
            Some(lang),
            TaskData::Bitext(b),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn p() -> PathBuf {
        PathBuf::from("t")
    }

    #[test]
    fn beir_pieces() {
        let corpus = "{\"_id\": \"d1\", \"title\": \"T\", \"text\": \"body one\"}\n{\"_id\": \"d2\", \"title\": \"\", \"text\": \"two\"}\n";
        let (ids, texts) = parse_beir_corpus(corpus, &p(), true).unwrap();
        assert_eq!(ids, ["d1", "d2"]);
        assert_eq!(texts, ["T body one", "two"]);
        let queries =
            "{\"_id\": \"q1\", \"text\": \"first?\"}\n{\"_id\": \"q2\", \"text\": \"unjudged\"}\n";
        let q = parse_beir_corpus(queries, &p(), false).unwrap();
        let qrels = parse_qrels("query-id\tcorpus-id\tscore\nq1\td2\t1\n", &p()).unwrap();
        let r = beir_set((ids.clone(), texts.clone()), q.clone(), &qrels, &p()).unwrap();
        assert_eq!(r.queries, ["first?"]);
        assert_eq!(r.qrels, [vec![(1, 1.0)]]);
        let bad = parse_qrels("q1\td9\t1\n", &p()).unwrap();
        assert!(beir_set((ids, texts), q, &bad, &p()).is_err());
        assert!(parse_beir_corpus("{\"_id\": 3}\n", &p(), false).is_err());
    }

    #[test]
    fn slices_keep_judged_documents() {
        let r = Retrieval {
            queries: (0..10).map(|i| format!("q{i}")).collect(),
            corpus: (0..50).map(|i| format!("document number {i}")).collect(),
            qrels: (0..10).map(|i| vec![(i * 5, 1.0)]).collect(),
        };
        let opts = SuiteOptions {
            max_queries: Some(3),
            max_docs: Some(8),
            doc_chars: Some(10),
            ..SuiteOptions::full()
        };
        let s = slice_retrieval(r, &opts);
        assert_eq!((s.queries.len(), s.corpus.len()), (3, 8));
        for (q, rels) in s.queries.iter().zip(&s.qrels) {
            let i: usize = q[1..].parse().unwrap();
            let want = format!("document number {}", i * 5);
            assert_eq!(s.corpus[rels[0].0], want[..10]);
        }
    }

    #[test]
    fn small_parsers() {
        let (t, l, k) = parse_newsgroups(
            "{\"label\": \"sci.med\", \"subject\": \"Re: x \"}\n{\"label\": \"alt.atheism\", \"subject\": \"y\"}\n",
            &p(),
        )
        .unwrap();
        assert_eq!(
            (t, l, k),
            (vec!["Re: x".to_string(), "y".into()], vec![1, 0], 2)
        );
        let tw = parse_pair_jsonl(
            "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 1}\n",
            &p(),
        )
        .unwrap();
        assert_eq!(tw.labels, [true]);
        assert!(
            parse_pair_jsonl(
                "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 2}\n",
                &p()
            )
            .is_err()
        );
        let s = parse_stsb_mt("x", "\"Ein, Mädchen.\",Zwei.,2.5\n", &p()).unwrap();
        assert_eq!(s.pairs, [("Ein, Mädchen.".into(), "Zwei.".into())]);
        assert_eq!(s.gold, [2.5]);
        assert!(parse_bitext("a\nb\n", "c\n", &p()).is_err());
    }
}
