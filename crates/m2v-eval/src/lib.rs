//! `m2v-eval`: MTEB-style evaluation of embedding models, the library behind
//! `cargo xtask bench` (the seed README's speed and accuracy tables, offline) and the
//! benchmark corpus the criterion benchmarks share.
//!
//! The `m2v-bench` binary (package `m2v-benches`) loads the [`Task`]s ([`load_tasks`]: STS-B, STS12-16,
//! SST-2, TREC, MR, CR, SUBJ, MPQA, AG News from `../shared/data`, WordSim-353 and
//! SimLex-999 from the fetched gensim files), embeds every distinct text once with
//! each model behind the [`Embedder`] trait ([`encode_all`]), scores the tasks
//! ([`score_tasks`]: Spearman of cosine for STS and word similarity, accuracy of a
//! [`LogReg`] softmax regression for classification), times encoding of the
//! [`corpus`] ([`measure_speed`]) and writes a [`Report`] as Markdown, JSON and an
//! SVG figure ([`report_svg`]). It knows no model crate: a model is anything
//! behind [`Embedder`] (the binary adapts `m2v-static` and `m2v-teacher`; the
//! server or the Python package could adapt theirs), so any front end can evaluate. The library keeps everything that computes a number, so the numbers are
//! unit-tested here and the binary is glue.
//!
//! ```
//! use m2v_eval::{Embedder, HashingEmbedder, spearman};
//! let m = HashingEmbedder::new(8);
//! let e = m.encode(&["a cat", "a dog"], 1).unwrap();
//! assert_eq!(e.len(), 2 * 8);
//! // Monotone: the rank correlation is 1 (up to rounding).
//! let r = spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 25.0]).unwrap();
//! assert!((r - 1.0).abs() < 1e-12);
//! ```

#![forbid(unsafe_code)]

mod corpus;
mod embedder;
mod error;
mod eval;
mod families;
mod kmeans;
mod logreg;
mod machine;
mod metrics;
mod plot;
mod rank;
mod report;
mod tasks;

pub use m2v_hub::testing::shared_data;

pub use crate::corpus::{corpus, csv_fields, read_text};
pub use crate::embedder::{Embedder, HashingEmbedder, par_chunks};
pub use crate::error::Error;
pub use crate::eval::{Speed, TaskScore, encode_all, measure_speed, score_tasks, unique_texts};
pub use crate::families::{
    STSB_LANGS, TATOEBA_LANGS, XQUAD_LANGS, parse_beir_corpus, parse_bitext, parse_newsgroups,
    parse_pair_jsonl, parse_qrels, parse_stsb_mt, slice_retrieval,
};
pub use crate::kmeans::{KMeansConfig, mini_batch_kmeans};
pub use crate::logreg::{LogReg, LogRegConfig};
pub use crate::machine::{Machine, format_utc, machine, utc_now};
pub use crate::metrics::{
    SplitMix64, accuracy, average_ranks, cosine, pearson, spearman, stratified_folds,
};
pub use crate::plot::{Point, points, render_png, report_svg, svg};
pub use crate::rank::{
    average_precision, bitext_f1, ndcg_at_k, normalize_rows, recall_at_k, top_k, v_measure,
};
pub use crate::report::{ModelResult, Report, TaskInfo, human_params};
pub use crate::tasks::{
    Bitext, Classification, Clustering, Group, LabelledPairs, Pairs, Protocol, Retrieval, SEED,
    SuiteOptions, TREC_CLASSES, Task, TaskData, gensim_dir, load_tasks, parse_ag_news, parse_sst,
    parse_sts_subset, parse_stsb, parse_trec, parse_word_pairs,
};
