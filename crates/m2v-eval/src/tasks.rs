//! The evaluation tasks and their loaders.
//!
//! Every loader has a pure parser over `&str` (unit-tested on a few lines) and a
//! thin wrapper that reads the file. Labels are dense `0..n_classes` in a fixed,
//! documented order.

use std::path::{Path, PathBuf};

use crate::corpus::{csv_fields, read_text};
use crate::error::Error;
use crate::metrics::SplitMix64;

/// Which family a task belongs to; the table averages each family separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Group {
    /// Semantic textual similarity (Spearman ×100).
    Sts,
    /// Sentence classification (accuracy ×100).
    Classification,
    /// Word similarity (Spearman ×100).
    WordSim,
    /// English retrieval (nDCG@10 ×100; Recall@100 as a part).
    Retrieval,
    /// Clustering (V-measure ×100, mean over seeded k-means runs).
    Clustering,
    /// Pair classification (average precision of the cosine ×100).
    PairClassification,
    /// Monolingual retrieval in one language (XQuAD; nDCG@10 ×100).
    MlRetrieval,
    /// Cross-lingual retrieval: queries in one language, paragraphs in English
    /// (XQuAD; nDCG@10 ×100).
    CrossRetrieval,
    /// STS in one language (machine-translated STS-B; Spearman ×100).
    MlSts,
    /// Bitext mining against English (Tatoeba; F1 ×100).
    Bitext,
}

impl Group {
    /// Whether the family belongs to the English table (the others are per language).
    pub fn is_english(self) -> bool {
        matches!(
            self,
            Group::Sts
                | Group::Classification
                | Group::WordSim
                | Group::Retrieval
                | Group::Clustering
                | Group::PairClassification
        )
    }

    /// The English families in table order, with their column names.
    pub const ENGLISH: [(Group, &'static str); 6] = [
        (Group::Sts, "STS"),
        (Group::Classification, "Class"),
        (Group::WordSim, "WordSim"),
        (Group::Retrieval, "Retrieval"),
        (Group::Clustering, "Clustering"),
        (Group::PairClassification, "PairClass"),
    ];

    /// The multilingual families in table order, with their column names.
    pub const MULTILINGUAL: [(Group, &'static str); 4] = [
        (Group::MlRetrieval, "XQuAD"),
        (Group::CrossRetrieval, "XQuAD→en"),
        (Group::MlSts, "STS-B-mt"),
        (Group::Bitext, "Tatoeba"),
    ];
}

/// A retrieval set: queries, a corpus, and the relevant documents of each query.
#[derive(Debug, Clone, Default)]
pub struct Retrieval {
    /// Query texts.
    pub queries: Vec<String>,
    /// Document texts.
    pub corpus: Vec<String>,
    /// For each query, `(document index, relevance)` of its judged documents.
    pub qrels: Vec<Vec<(usize, f64)>>,
}

/// A clustering set: texts with their true classes.
#[derive(Debug, Clone, Default)]
pub struct Clustering {
    /// The texts.
    pub texts: Vec<String>,
    /// Class of each text in `0..n_classes`.
    pub labels: Vec<usize>,
    /// Number of classes (the k of k-means).
    pub n_classes: usize,
    /// Seeded k-means runs averaged.
    pub seeds: usize,
}

/// A pair-classification set: text pairs labelled duplicate/paraphrase or not.
#[derive(Debug, Clone, Default)]
pub struct LabelledPairs {
    /// The two texts of each pair.
    pub pairs: Vec<(String, String)>,
    /// Whether each pair is positive.
    pub labels: Vec<bool>,
}

/// A bitext-mining set: line-aligned sentences, `source[i]` translating `target[i]`.
#[derive(Debug, Clone, Default)]
pub struct Bitext {
    /// Sentences in the other language (the queries).
    pub source: Vec<String>,
    /// English sentences (searched).
    pub target: Vec<String>,
}

/// A set of scored sentence pairs.
#[derive(Debug, Clone, Default)]
pub struct Pairs {
    /// Subset name (e.g. `MSRpar`).
    pub name: String,
    /// The two texts of each pair.
    pub pairs: Vec<(String, String)>,
    /// Gold similarity of each pair.
    pub gold: Vec<f64>,
}

/// How a classification task is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Protocol {
    /// The first `train` items are the training split, the rest the test split.
    TrainTest {
        /// Number of training items.
        train: usize,
    },
    /// Stratified k-fold cross-validation with a fixed seed; the score is the mean
    /// accuracy over the folds.
    CrossVal {
        /// Number of folds.
        folds: usize,
    },
}

/// A labelled sentence classification set.
#[derive(Debug, Clone)]
pub struct Classification {
    /// The texts.
    pub texts: Vec<String>,
    /// Labels in `0..n_classes`.
    pub labels: Vec<usize>,
    /// Number of classes.
    pub n_classes: usize,
    /// How it is evaluated.
    pub protocol: Protocol,
}

/// What a task contains.
#[derive(Debug, Clone)]
pub enum TaskData {
    /// STS: one or more subsets; the task score is the mean of the subsets' Spearman.
    Sts(Vec<Pairs>),
    /// Classification.
    Classification(Classification),
    /// Word similarity: one set of word pairs.
    WordSim(Pairs),
    /// Retrieval (English or one language or cross-lingual).
    Retrieval(Retrieval),
    /// Clustering.
    Clustering(Clustering),
    /// Pair classification.
    PairClassification(LabelledPairs),
    /// Bitext mining.
    Bitext(Bitext),
}

/// One column of the results table.
#[derive(Debug, Clone)]
pub struct Task {
    /// Column name (`STS-B`, `SST-2`, `WS-353`, ...).
    pub name: String,
    /// Its family.
    pub group: Group,
    /// Its language (ISO 639-1) for the multilingual families, else `None`.
    pub lang: Option<String>,
    /// Its data.
    pub data: TaskData,
}

impl Task {
    /// Every text the task needs embedded (with repetitions).
    pub fn texts(&self) -> Vec<&str> {
        match &self.data {
            TaskData::Sts(sets) => sets
                .iter()
                .flat_map(|s| s.pairs.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]))
                .collect(),
            TaskData::WordSim(s) => s
                .pairs
                .iter()
                .flat_map(|(a, b)| [a.as_str(), b.as_str()])
                .collect(),
            TaskData::Classification(c) => c.texts.iter().map(String::as_str).collect(),
            TaskData::Retrieval(r) => r
                .queries
                .iter()
                .chain(&r.corpus)
                .map(String::as_str)
                .collect(),
            TaskData::Clustering(c) => c.texts.iter().map(String::as_str).collect(),
            TaskData::PairClassification(p) => p
                .pairs
                .iter()
                .flat_map(|(a, b)| [a.as_str(), b.as_str()])
                .collect(),
            TaskData::Bitext(b) => b
                .source
                .iter()
                .chain(&b.target)
                .map(String::as_str)
                .collect(),
        }
    }

    /// How the score is computed, for the table's notes.
    pub fn protocol_note(&self) -> String {
        match &self.data {
            TaskData::Sts(sets) if sets.len() == 1 => format!("{} pairs", sets[0].pairs.len()),
            TaskData::Sts(sets) => format!(
                "mean over {} subsets ({} pairs)",
                sets.len(),
                sets.iter().map(|s| s.pairs.len()).sum::<usize>()
            ),
            TaskData::WordSim(s) => format!("{} pairs", s.pairs.len()),
            TaskData::Classification(c) => match c.protocol {
                Protocol::TrainTest { train } => {
                    format!("train {train} / test {}", c.texts.len() - train)
                }
                Protocol::CrossVal { folds } => {
                    format!("{folds}-fold CV on {}", c.texts.len())
                }
            },
            TaskData::Retrieval(r) => format!(
                "{} queries, {} documents, {} judgements",
                r.queries.len(),
                r.corpus.len(),
                r.qrels.iter().map(Vec::len).sum::<usize>()
            ),
            TaskData::Clustering(c) => format!(
                "{} texts, {} classes, mean over {} seeds",
                c.texts.len(),
                c.n_classes,
                c.seeds
            ),
            TaskData::PairClassification(p) => format!(
                "{} pairs ({} positive)",
                p.pairs.len(),
                p.labels.iter().filter(|&&l| l).count()
            ),
            TaskData::Bitext(b) => format!("{} sentence pairs", b.source.len()),
        }
    }
}

/// How much of each set to use ([`SuiteOptions::quick`] for CI smoke runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct SuiteOptions {
    /// At most this many pairs per STS task (a seeded random sample; a SemEval year
    /// gets `ceil(max / subsets)` pairs per subset).
    pub max_pairs: Option<usize>,
    /// At most this many items per classification set (train and test each for
    /// train/test sets), a seeded random sample.
    pub max_items: Option<usize>,
    /// Folds for the cross-validated sets.
    pub folds: usize,
    /// At most this many queries per retrieval task (a seeded sample).
    pub max_queries: Option<usize>,
    /// At most this many documents per retrieval task: the sampled queries'
    /// relevant documents, then a seeded sample of the others.
    pub max_docs: Option<usize>,
    /// Documents cut to this many characters (quick runs: long abstracts are what
    /// makes a teacher slow in a debug build).
    pub doc_chars: Option<usize>,
    /// At most this many texts to cluster (a seeded sample).
    pub max_cluster: Option<usize>,
    /// Seeded k-means runs per clustering task.
    pub cluster_seeds: usize,
    /// At most this many pairs per pair-classification, multilingual STS and bitext
    /// task (a seeded sample).
    pub max_ml_pairs: Option<usize>,
    /// Only these languages (ISO 639-1) in the multilingual families; all when `None`.
    pub languages: Option<&'static [&'static str]>,
}

impl SuiteOptions {
    /// The whole data, 10-fold CV, 5 k-means seeds, every language.
    pub fn full() -> Self {
        SuiteOptions {
            max_pairs: None,
            max_items: None,
            folds: 10,
            max_queries: None,
            max_docs: None,
            doc_chars: None,
            max_cluster: None,
            cluster_seeds: 5,
            max_ml_pairs: None,
            languages: None,
        }
    }

    /// Subsets for a run of a few minutes: 500 pairs per STS task, 1000 items per
    /// classification split, 5-fold CV; 30 queries and 100 documents of at most 300
    /// characters per retrieval task, 300 texts and 2 seeds to cluster, 100 pairs per
    /// pair-classification, multilingual STS and bitext task, languages de and zh
    /// (about 1,900 more texts, a quarter of them paragraphs).
    pub fn quick() -> Self {
        SuiteOptions {
            max_pairs: Some(500),
            max_items: Some(1000),
            folds: 5,
            max_queries: Some(30),
            max_docs: Some(100),
            doc_chars: Some(300),
            max_cluster: Some(300),
            cluster_seeds: 2,
            max_ml_pairs: Some(100),
            languages: Some(&["de", "zh"]),
        }
    }
}

/// Seed of every sample and fold assignment in the suite.
pub const SEED: u64 = 20_241_001;

pub(crate) fn parse_err(path: &Path, line: usize, what: impl Into<String>) -> Error {
    Error::Parse {
        path: path.to_path_buf(),
        line,
        what: what.into(),
    }
}

pub(crate) fn read(path: &Path) -> Result<String, Error> {
    read_text(path).map_err(|e| Error::io(path, e))
}

/// Parses STS-B rows: `genre TAB file TAB year TAB id TAB score TAB s1 TAB s2 [TAB ...]`.
/// Rows with fewer than seven columns are errors; extra columns are ignored.
pub fn parse_stsb(text: &str, path: &Path) -> Result<Pairs, Error> {
    let mut out = Pairs {
        name: "STS-B".into(),
        ..Default::default()
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 {
            return Err(parse_err(
                path,
                i + 1,
                format!("expected 7 tab-separated columns, got {}", cols.len()),
            ));
        }
        let score: f64 = cols[4]
            .trim()
            .parse()
            .map_err(|_| parse_err(path, i + 1, format!("bad score `{}`", cols[4])))?;
        out.pairs.push((cols[5].to_string(), cols[6].to_string()));
        out.gold.push(score);
    }
    Ok(out)
}

/// Parses a SemEval STS subset: `input` has `s1 TAB s2` per line, `gold` one score
/// per line; pairs with a blank gold line are unscored and dropped (SentEval does the
/// same).
pub fn parse_sts_subset(name: &str, input: &str, gold: &str, path: &Path) -> Result<Pairs, Error> {
    let inputs: Vec<&str> = input.lines().collect();
    let golds: Vec<&str> = gold.lines().collect();
    if inputs.len() != golds.len() {
        return Err(Error::Length {
            what: format!("{}: gold lines vs input lines", path.display()),
            expected: inputs.len(),
            actual: golds.len(),
        });
    }
    let mut out = Pairs {
        name: name.to_string(),
        ..Default::default()
    };
    for (i, (inp, g)) in inputs.iter().zip(&golds).enumerate() {
        let g = g.trim();
        if g.is_empty() {
            continue;
        }
        let score: f64 = g
            .parse()
            .map_err(|_| parse_err(path, i + 1, format!("bad gold score `{g}`")))?;
        let mut cols = inp.split('\t');
        let (Some(a), Some(b)) = (cols.next(), cols.next()) else {
            return Err(parse_err(path, i + 1, "expected `s1 TAB s2`"));
        };
        out.pairs.push((a.to_string(), b.to_string()));
        out.gold.push(score);
    }
    Ok(out)
}

/// Parses `text TAB label` lines (SST-2), labels `0`/`1`.
pub fn parse_sst(text: &str, path: &Path) -> Result<(Vec<String>, Vec<usize>), Error> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((t, l)) = line.rsplit_once('\t') else {
            return Err(parse_err(path, i + 1, "expected `text TAB label`"));
        };
        let l: usize = match l.trim() {
            "0" => 0,
            "1" => 1,
            other => return Err(parse_err(path, i + 1, format!("bad label `{other}`"))),
        };
        texts.push(t.trim().to_string());
        labels.push(l);
    }
    Ok((texts, labels))
}

/// TREC coarse classes, in label order.
pub const TREC_CLASSES: [&str; 6] = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"];

/// Parses `COARSE:fine question` lines (TREC), with the coarse class as the label.
pub fn parse_trec(text: &str, path: &Path) -> Result<(Vec<String>, Vec<usize>), Error> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let Some((tag, q)) = line.split_once(' ') else {
            return Err(parse_err(path, i + 1, "expected `LABEL:fine text`"));
        };
        let coarse = tag.split(':').next().unwrap_or(tag);
        let Some(l) = TREC_CLASSES.iter().position(|c| *c == coarse) else {
            return Err(parse_err(
                path,
                i + 1,
                format!("unknown TREC class `{coarse}`"),
            ));
        };
        texts.push(q.trim().to_string());
        labels.push(l);
    }
    Ok((texts, labels))
}

/// Parses AG News CSV rows `"class","title","description"` (class 1-4 → label 0-3);
/// the text is the title, a space and the description with `\` line breaks as spaces.
pub fn parse_ag_news(text: &str, path: &Path) -> Result<(Vec<String>, Vec<usize>), Error> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f = csv_fields(line);
        if f.len() < 3 {
            return Err(parse_err(
                path,
                i + 1,
                format!("expected 3 CSV fields, got {}", f.len()),
            ));
        }
        let l = match f[0].trim() {
            "1" => 0,
            "2" => 1,
            "3" => 2,
            "4" => 3,
            other => return Err(parse_err(path, i + 1, format!("bad class `{other}`"))),
        };
        texts.push(format!("{} {}", f[1], f[2].replace('\\', " ")));
        labels.push(l);
    }
    Ok((texts, labels))
}

/// Parses a word-similarity file: `word1 TAB word2 TAB score`, `#` comment lines.
pub fn parse_word_pairs(name: &str, text: &str, path: &Path) -> Result<Pairs, Error> {
    let mut out = Pairs {
        name: name.to_string(),
        ..Default::default()
    };
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 3 {
            return Err(parse_err(
                path,
                i + 1,
                "expected `word1 TAB word2 TAB score`",
            ));
        }
        let score: f64 = cols[2]
            .trim()
            .parse()
            .map_err(|_| parse_err(path, i + 1, format!("bad score `{}`", cols[2])))?;
        out.pairs
            .push((cols[0].trim().to_string(), cols[1].trim().to_string()));
        out.gold.push(score);
    }
    Ok(out)
}

pub(crate) fn sample_pairs(mut p: Pairs, max: Option<usize>) -> Pairs {
    let Some(max) = max.filter(|&m| m < p.pairs.len()) else {
        return p;
    };
    let mut idx: Vec<usize> = (0..p.pairs.len()).collect();
    SplitMix64::new(SEED).shuffle(&mut idx);
    idx.truncate(max);
    idx.sort_unstable();
    p.pairs = idx.iter().map(|&i| p.pairs[i].clone()).collect();
    p.gold = idx.iter().map(|&i| p.gold[i]).collect();
    p
}

fn sample_items(
    texts: Vec<String>,
    labels: Vec<usize>,
    max: Option<usize>,
) -> (Vec<String>, Vec<usize>) {
    let Some(max) = max.filter(|&m| m < texts.len()) else {
        return (texts, labels);
    };
    let mut idx: Vec<usize> = (0..texts.len()).collect();
    SplitMix64::new(SEED).shuffle(&mut idx);
    idx.truncate(max);
    idx.sort_unstable();
    (
        idx.iter().map(|&i| texts[i].clone()).collect(),
        idx.iter().map(|&i| labels[i]).collect(),
    )
}

fn train_test(
    train: (Vec<String>, Vec<usize>),
    test: (Vec<String>, Vec<usize>),
    n_classes: usize,
    opts: &SuiteOptions,
) -> Classification {
    let (mut texts, mut labels) = sample_items(train.0, train.1, opts.max_items);
    let n_train = texts.len();
    let (t, l) = sample_items(test.0, test.1, opts.max_items);
    texts.extend(t);
    labels.extend(l);
    Classification {
        texts,
        labels,
        n_classes,
        protocol: Protocol::TrainTest { train: n_train },
    }
}

fn cross_val(
    data: (Vec<String>, Vec<usize>),
    n_classes: usize,
    opts: &SuiteOptions,
) -> Classification {
    let (texts, labels) = sample_items(data.0, data.1, opts.max_items);
    Classification {
        texts,
        labels,
        n_classes,
        protocol: Protocol::CrossVal { folds: opts.folds },
    }
}

/// Loads a binary set stored as one file per class (`neg` → 0, `pos` → 1).
fn binary_files(neg: &Path, pos: &Path) -> Result<(Vec<String>, Vec<usize>), Error> {
    let mut texts = Vec::new();
    let mut labels = Vec::new();
    for (label, path) in [(0, neg), (1, pos)] {
        for line in read(path)?.lines() {
            if !line.trim().is_empty() {
                texts.push(line.trim().to_string());
                labels.push(label);
            }
        }
    }
    Ok((texts, labels))
}

/// The subset names of a SemEval STS year folder (`STS.input.NAME.txt` with a
/// matching `STS.gs.NAME.txt`), sorted.
fn sts_year(dir: &Path, opts: &SuiteOptions) -> Result<Vec<Pairs>, Error> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let f = e.file_name().to_string_lossy().into_owned();
            let name = f
                .strip_prefix("STS.input.")?
                .strip_suffix(".txt")?
                .to_string();
            dir.join(format!("STS.gs.{name}.txt"))
                .is_file()
                .then_some(name)
        })
        .collect();
    names.sort();
    // The cap is per task: spread it over the year's subsets.
    let cap = opts.max_pairs.map(|m| m.div_ceil(names.len().max(1)));
    names
        .iter()
        .map(|n| {
            let ip = dir.join(format!("STS.input.{n}.txt"));
            let gp = dir.join(format!("STS.gs.{n}.txt"));
            let p = parse_sts_subset(n, &read(&ip)?, &read(&gp)?, &gp)?;
            Ok(sample_pairs(p, cap))
        })
        .collect()
}

/// Where the word-similarity files live: `m2v_home()/data/gensim`.
pub fn gensim_dir() -> PathBuf {
    m2v_hub::testing::m2v_home().join("data").join("gensim")
}

/// Loads every task: STS-B test, STS12-16, SST-2, TREC, MR, CR, SUBJ, MPQA, AG News
/// from `data` (the shared evaluation folder), WordSim-353 and SimLex-999 from
/// `gensim` (skipped with a message when absent), then the newer families from
/// `data`: SciFact, 20 Newsgroups, Twitter URL, and per language XQuAD (monolingual
/// and to English), STS-B-mt and Tatoeba.
pub fn load_tasks(data: &Path, gensim: &Path, opts: &SuiteOptions) -> Result<Vec<Task>, Error> {
    let mut tasks = Vec::new();
    let p = data.join("stsbenchmark/sts-test.csv");
    let stsb = sample_pairs(parse_stsb(&read(&p)?, &p)?, opts.max_pairs);
    tasks.push(Task {
        name: "STS-B".into(),
        group: Group::Sts,
        lang: None,
        data: TaskData::Sts(vec![stsb]),
    });
    for year in 12..=16 {
        let dir = data.join(format!("senteval/STS/STS{year}-en-test"));
        tasks.push(Task {
            name: format!("STS{year}"),
            group: Group::Sts,
            lang: None,
            data: TaskData::Sts(sts_year(&dir, opts)?),
        });
    }
    let sst = |s: &str| -> Result<_, Error> {
        let p = data.join(format!("senteval/SST/binary/sentiment-{s}"));
        parse_sst(&read(&p)?, &p)
    };
    let mut class = vec![("SST-2", train_test(sst("train")?, sst("test")?, 2, opts))];
    let trec = |f: &str| -> Result<_, Error> {
        let p = data.join("senteval/TREC").join(f);
        parse_trec(&read(&p)?, &p)
    };
    class.push((
        "TREC",
        train_test(trec("train_5500.label")?, trec("TREC_10.label")?, 6, opts),
    ));
    let se = data.join("senteval");
    for (name, neg, pos) in [
        ("MR", "MR/rt-polarity.neg", "MR/rt-polarity.pos"),
        ("CR", "CR/custrev.neg", "CR/custrev.pos"),
        ("SUBJ", "SUBJ/subj.objective", "SUBJ/subj.subjective"),
        ("MPQA", "MPQA/mpqa.neg", "MPQA/mpqa.pos"),
    ] {
        class.push((
            name,
            cross_val(binary_files(&se.join(neg), &se.join(pos))?, 2, opts),
        ));
    }
    let p = data.join("ag_news/test.csv");
    class.push((
        "AG News",
        cross_val(parse_ag_news(&read(&p)?, &p)?, 4, opts),
    ));
    for (name, c) in class {
        tasks.push(Task {
            name: name.into(),
            group: Group::Classification,
            lang: None,
            data: TaskData::Classification(c),
        });
    }
    for (name, file) in [
        ("WS-353", "wordsim353.tsv"),
        ("SimLex-999", "simlex999.txt"),
    ] {
        let p = gensim.join(file);
        if !p.is_file() {
            eprintln!(
                "SKIPPED: {name}: {} not found; run `cargo xtask fetch gensim`",
                p.display()
            );
            continue;
        }
        tasks.push(Task {
            name: name.into(),
            group: Group::WordSim,
            lang: None,
            data: TaskData::WordSim(parse_word_pairs(name, &read(&p)?, &p)?),
        });
    }
    crate::families::load_families(data, opts, &mut tasks)?;
    Ok(tasks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> PathBuf {
        PathBuf::from("t")
    }

    #[test]
    fn stsb_rows() {
        let t = "main-captions\tMSRvid\t2012test\t0024\t2.500\tA girl.\tA girl brushing.\n\
                 main-news\theadlines\t2015\t0001\t0.0\tx\ty\textra\tcols\n";
        let s = parse_stsb(t, &p()).unwrap();
        assert_eq!(
            s.pairs,
            [
                ("A girl.".into(), "A girl brushing.".into()),
                ("x".into(), "y".into())
            ]
        );
        assert_eq!(s.gold, [2.5, 0.0]);
        assert!(parse_stsb("a\tb\tc\n", &p()).is_err());
    }

    #[test]
    fn sts_subset_drops_unscored() {
        let s = parse_sts_subset("x", "a\tb\nc\td\ne\tf\n", "4.2\n\n1\n", &p()).unwrap();
        assert_eq!(
            s.pairs,
            [("a".into(), "b".into()), ("e".into(), "f".into())]
        );
        assert_eq!(s.gold, [4.2, 1.0]);
        assert!(parse_sts_subset("x", "a\tb\n", "1\n2\n", &p()).is_err());
    }

    #[test]
    fn trec_coarse_labels() {
        let t = "NUM:dist How far is it ?\nHUM:desc Who was Galileo ?\nABBR:exp What is AIDS ?\n";
        let (texts, labels) = parse_trec(t, &p()).unwrap();
        assert_eq!(
            texts,
            ["How far is it ?", "Who was Galileo ?", "What is AIDS ?"]
        );
        assert_eq!(labels, [5, 3, 0]);
        assert!(parse_trec("XYZ:a b\n", &p()).is_err());
    }

    #[test]
    fn ag_news_rows() {
        let t =
            "\"3\",\"Fears for T N\",\"Unions say\\they are, \"\"sad\"\".\"\n\"1\",\"a\",\"b\"\n";
        let (texts, labels) = parse_ag_news(t, &p()).unwrap();
        assert_eq!(
            texts,
            ["Fears for T N Unions say they are, \"sad\".", "a b"]
        );
        assert_eq!(labels, [2, 0]);
        assert!(parse_ag_news("\"5\",\"a\",\"b\"\n", &p()).is_err());
    }

    #[test]
    fn sst_and_words() {
        let (t, l) = parse_sst("uneasy mishmash . \t0\ngood film\t1\n", &p()).unwrap();
        assert_eq!(t, ["uneasy mishmash .", "good film"]);
        assert_eq!(l, [0, 1]);
        let w =
            parse_word_pairs("ws", "# c\n# c2\nlove\tsex\t6.77\ntiger\tcat\t7.35\n", &p()).unwrap();
        assert_eq!(w.pairs[1], ("tiger".into(), "cat".into()));
        assert_eq!(w.gold, [6.77, 7.35]);
    }

    #[test]
    fn sampling_is_deterministic_and_bounded() {
        let texts: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        let labels: Vec<usize> = (0..100).map(|i| i % 3).collect();
        let a = sample_items(texts.clone(), labels.clone(), Some(10));
        let b = sample_items(texts, labels, Some(10));
        assert_eq!(a.0.len(), 10);
        assert_eq!(a, b);
    }

    #[test]
    fn real_tasks_load() {
        let Some(data) = crate::shared_data() else {
            return;
        };
        let tasks = load_tasks(&data, &gensim_dir(), &SuiteOptions::full()).unwrap();
        let get = |n: &str| tasks.iter().find(|t| t.name == n).unwrap();
        let TaskData::Sts(s) = &get("STS-B").data else {
            panic!()
        };
        assert_eq!(s[0].pairs.len(), 1379);
        let TaskData::Sts(s) = &get("STS12").data else {
            panic!()
        };
        assert_eq!(s.len(), 5);
        assert_eq!(s.iter().map(|x| x.pairs.len()).sum::<usize>(), 3108);
        let TaskData::Sts(s) = &get("STS16").data else {
            panic!()
        };
        // 1186 scored pairs over the five 2016 subsets (blank gold lines dropped).
        assert_eq!(s.iter().map(|x| x.pairs.len()).sum::<usize>(), 1186);
        let TaskData::Classification(c) = &get("TREC").data else {
            panic!()
        };
        assert_eq!(
            (c.texts.len(), c.protocol),
            (5952, Protocol::TrainTest { train: 5452 })
        );
        let TaskData::Classification(c) = &get("AG News").data else {
            panic!()
        };
        assert_eq!(c.texts.len(), 7600);
        assert_eq!(c.labels.iter().filter(|&&l| l == 0).count(), 1900);
        let TaskData::Classification(c) = &get("SST-2").data else {
            panic!()
        };
        assert_eq!(c.protocol, Protocol::TrainTest { train: 67349 });
        assert_eq!(c.texts.len(), 67349 + 1821);
        // The newer families, at the sizes the data README gives.
        let TaskData::Retrieval(r) = &get("SciFact").data else {
            panic!()
        };
        assert_eq!((r.queries.len(), r.corpus.len()), (300, 5183));
        assert_eq!(r.qrels.iter().map(Vec::len).sum::<usize>(), 339);
        for name in ["XQuAD-de", "XQuAD-zh-en"] {
            let TaskData::Retrieval(r) = &get(name).data else {
                panic!()
            };
            assert_eq!((r.queries.len(), r.corpus.len()), (1190, 240), "{name}");
        }
        let TaskData::Clustering(c) = &get("20NG").data else {
            panic!()
        };
        assert_eq!((c.texts.len(), c.n_classes), (7532, 20));
        let TaskData::PairClassification(p) = &get("TwitterURL").data else {
            panic!()
        };
        assert_eq!(p.pairs.len(), 9324);
        assert_eq!(p.labels.iter().filter(|&&l| l).count(), 1820);
        let TaskData::Sts(s) = &get("STSb-ja").data else {
            panic!()
        };
        assert_eq!(s[0].pairs.len(), 1379);
        let TaskData::Bitext(b) = &get("Tatoeba-de").data else {
            panic!()
        };
        assert_eq!(b.source.len(), 1000);
        assert_eq!(
            tasks.iter().filter(|t| t.lang.is_some()).count(),
            12 + 11 + 11 + 17
        );
    }
}
