//! `m2v-benches`: the evaluation behind `cargo xtask bench` (the seed README's speed
//! and accuracy tables, offline), criterion benchmarks, and the benchmark corpus they
//! share.
//!
//! The `m2v-bench` binary loads the [`Task`]s ([`load_tasks`]: STS-B, STS12-16,
//! SST-2, TREC, MR, CR, SUBJ, MPQA, AG News from `../shared/data`, WordSim-353 and
//! SimLex-999 from the fetched gensim files), embeds every distinct text once with
//! each model behind the [`Embedder`] trait ([`encode_all`]), scores the tasks
//! ([`score_tasks`]: Spearman of cosine for STS and word similarity, accuracy of a
//! [`LogReg`] softmax regression for classification), times encoding of the
//! [`corpus`] ([`measure_speed`]) and writes a [`Report`] as Markdown, JSON and an
//! SVG figure ([`report_svg`]). It sits on top of the stack: it consumes
//! `m2v-static` and `m2v-teacher` through the binary's model adapters and feeds
//! nothing. The library keeps everything that computes a number, so the numbers are
//! unit-tested here and the binary is glue.
//!
//! ```
//! use m2v_benches::{Embedder, HashingEmbedder, spearman};
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
mod logreg;
mod machine;
mod metrics;
mod plot;
mod report;
mod tasks;

pub use m2v_hub::testing::shared_data;

pub use crate::corpus::{corpus, csv_fields, read_text};
pub use crate::embedder::{Embedder, HashingEmbedder, par_chunks};
pub use crate::error::Error;
pub use crate::eval::{Speed, TaskScore, encode_all, measure_speed, score_tasks, unique_texts};
pub use crate::logreg::{LogReg, LogRegConfig};
pub use crate::machine::{Machine, format_utc, machine, utc_now};
pub use crate::metrics::{
    SplitMix64, accuracy, average_ranks, cosine, pearson, spearman, stratified_folds,
};
pub use crate::plot::{Point, points, render_png, report_svg, svg};
pub use crate::report::{ModelResult, Report, TaskInfo, human_params};
pub use crate::tasks::{
    Classification, Group, Pairs, Protocol, SEED, SuiteOptions, TREC_CLASSES, Task, TaskData,
    gensim_dir, load_tasks, parse_ag_news, parse_sst, parse_sts_subset, parse_stsb, parse_trec,
    parse_word_pairs,
};
