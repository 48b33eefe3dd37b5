//! `m2v-cli distill`: turn a sentence transformer into a static model.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use m2v_distill::{CorpusOptions, Device, DistillOptions, Pooling, Progress, Stage};
use m2v_static::save::OutputFolder;

/// Arguments of `m2v-cli distill`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The teacher (a sentence transformer): a local folder, or a hub id
    /// `ORG/NAME[@REVISION]` taken from the Hugging Face cache (downloaded into it first
    /// when missing, unless HF_HUB_OFFLINE=1).
    #[arg(long)]
    pub model: String,
    /// Folder to write the model to (refused if it exists and is not empty, unless --force).
    #[arg(long)]
    pub output: PathBuf,
    /// Words to add to the vocabulary, one per line, most frequent first.
    #[arg(long, value_name = "FILE")]
    pub vocabulary: Option<PathBuf>,
    /// PCA dimensions: an integer, a float in (0, 1) (explained variance), `auto` (all) or `none`.
    #[arg(long, default_value = "256", value_name = "INT|FLOAT|auto|none")]
    pub pca_dims: m2v_distill::PcaDims,
    /// SIF coefficient, in (0, 1).
    #[arg(
        long,
        default_value_t = 1e-4,
        conflicts_with = "no_sif",
        value_name = "F"
    )]
    pub sif_coefficient: f64,
    /// Do not weight the embeddings with SIF.
    #[arg(long)]
    pub no_sif: bool,
    /// Remove vocabulary tokens matching this regex (Python `re.match`: anchored at the
    /// start); an empty string removes nothing.
    #[arg(long, default_value = m2v_distill::DEFAULT_REMOVE_PATTERN, value_name = "RE")]
    pub token_remove_pattern: String,
    /// Pooling of the teacher's output: mean, first, last or pooler.
    #[arg(long, default_value = "mean", value_parser = parse_pooling)]
    pub pooling: Pooling,
    /// Stored dtype: float16, float32, float64 or int8 (or f16, f32, f64, i8).
    #[arg(long, default_value = "float16", value_name = "DTYPE", value_parser = super::parse_storable_dtype)]
    pub quantize_to: m2v_static::Dtype,
    /// Cluster the vocabulary into K rows (k-means), storing a token→row mapping.
    #[arg(long, value_name = "K")]
    pub vocabulary_quantization: Option<usize>,
    /// Where the teacher runs: cpu or gpu (wgpu; needs m2v-cli built with `--features wgpu`).
    #[arg(long, default_value = "cpu", value_parser = parse_device)]
    pub device: Device,
    /// Replace the output folder if it is not empty.
    #[arg(long)]
    pub force: bool,
    /// After saving, upload the model folder to this hub repository `ORG/NAME` (created
    /// if missing; token from $HF_TOKEN or `huggingface-cli login`).
    #[arg(long, value_name = "ORG/NAME")]
    pub push_to: Option<String>,
    /// With --push-to: create the repository as private.
    #[arg(long, requires = "push_to")]
    pub private: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// After distilling, pre-train on this corpus (the Tokenlearn recipe: the static
    /// model learns to reproduce the teacher's outputs on real text). UTF-8, one text per
    /// line. See docs/pretrain.md.
    #[arg(long, value_name = "FILE", help_heading = "Corpus pre-training")]
    pub corpus: Option<PathBuf>,
    /// Use at most the first N texts of the corpus.
    #[arg(
        long,
        value_name = "N",
        requires = "corpus",
        help_heading = "Corpus pre-training"
    )]
    pub corpus_limit: Option<usize>,
    /// The teacher's features are cached here, chunk by chunk; a killed run started
    /// again resumes from them [default: OUTPUT.features, beside the output].
    #[arg(
        long,
        value_name = "DIR",
        requires = "corpus",
        help_heading = "Corpus pre-training"
    )]
    pub features_dir: Option<PathBuf>,
    /// Re-weight the trained rows by their tokens' corpus frequencies with this SIF α
    /// (e.g. 0.001, Tokenlearn 0.1.2's); `none` keeps them as trained.
    #[arg(long, default_value = "none", value_name = "F|none", value_parser = parse_alpha, help_heading = "Corpus pre-training")]
    pub corpus_sif_alpha: Alpha,
    /// The seed of the training's random choices.
    #[arg(long, default_value_t = 42, help_heading = "Corpus pre-training")]
    pub seed: u64,
}

/// An optional SIF α (`none`).
#[derive(Debug, Clone, Copy)]
pub struct Alpha(Option<f64>);

fn parse_alpha(s: &str) -> Result<Alpha, String> {
    if s == "none" {
        return Ok(Alpha(None));
    }
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x.is_finite() => Ok(Alpha(Some(x))),
        _ => Err(format!("`{s}`: expected a positive number or `none`")),
    }
}

fn parse_pooling(s: &str) -> Result<Pooling, String> {
    match s {
        "mean" | "first" | "last" | "pooler" => s.parse::<Pooling>().map_err(|e| e.to_string()),
        other => Err(format!(
            "unknown pooling `{other}` (mean, first, last or pooler)"
        )),
    }
}

/// `distill --corpus`: distillation, then pre-training.
fn pretrained(
    a: &Args,
    opts: &DistillOptions,
    corpus: &std::path::Path,
    folder: OutputFolder,
) -> Result<()> {
    let features_dir = a.features_dir.clone().unwrap_or_else(|| {
        let name = a
            .output
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        a.output.with_file_name(format!("{name}.features"))
    });
    let mut copts = CorpusOptions::new(corpus, &features_dir);
    copts.limit = a.corpus_limit;
    copts.sif_alpha = a.corpus_sif_alpha.0;
    copts.train.seed = a.seed;
    let show = !a.quiet && std::io::stderr().is_terminal();
    let teacher_bar = if show {
        tokens_bar()
    } else {
        ProgressBar::hidden()
    };
    let feat_bar = ProgressBar::hidden();
    if show {
        feat_bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        feat_bar.set_style(
            ProgressStyle::with_template(
                "featurizing corpus {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}] {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
    }
    let mut train_bar = super::train::TrainBar::new(!a.quiet);
    let mut started = false;
    let (distilled, s) = m2v_distill::distill_pretrained(
        opts,
        &copts,
        &Bar(teacher_bar),
        &mut |stage| match stage {
            Stage::Featurize {
                done,
                total,
                cached,
            } => {
                if !started {
                    started = true;
                    feat_bar.set_length(total as u64);
                    feat_bar.enable_steady_tick(Duration::from_millis(250));
                }
                if cached > 0 {
                    feat_bar.set_message(format!("({cached} from the cache)"));
                }
                feat_bar.set_position(done as u64);
                if done == total {
                    feat_bar.finish_and_clear();
                }
            }
            Stage::Train(p) => train_bar.report(p),
        },
    )
    .with_context(|| format!("pre-training on {}", corpus.display()))?;
    train_bar.finish();
    if !a.quiet {
        println!(
            "pre-trained on {} texts of {} ({} from the feature cache {}): {} epochs, {} steps, best validation loss {:.5}",
            s.texts,
            corpus.display(),
            s.cached,
            features_dir.display(),
            s.epochs,
            s.steps,
            s.best_loss,
        );
    }
    report(a, &distilled, folder)
}

/// The teacher pass's progress bar.
fn tokens_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "encoding tokens {bar:40} {pos}/{len} [{elapsed_precise}<{eta_precise}, {per_sec}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn parse_device(s: &str) -> Result<Device, String> {
    s.parse::<Device>()
}

/// A progress bar on stderr when it is a terminal.
struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, total: usize) {
        self.0.set_length(total as u64);
        self.0.reset_eta();
    }
    fn update(&self, done: usize) {
        self.0.set_position(done as u64);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn read_vocabulary(path: &PathBuf) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the vocabulary {}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_string())
        .filter(|l| !l.is_empty())
        .collect())
}

fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else {
        format!("{:.1} kB", n / 1e3)
    }
}

pub fn run(a: Args) -> Result<()> {
    let model_dir = super::model_dir(&a.model)?;
    let vocabulary = match &a.vocabulary {
        Some(p) => read_vocabulary(p)?,
        None => Vec::new(),
    };
    let mut opts = DistillOptions::new(model_dir, a.model.clone());
    opts.vocabulary = vocabulary;
    opts.pca_dims = a.pca_dims;
    opts.sif_coefficient = (!a.no_sif).then_some(a.sif_coefficient);
    opts.token_remove_pattern =
        (!a.token_remove_pattern.is_empty()).then(|| a.token_remove_pattern.clone());
    opts.pooling = a.pooling;
    opts.quantize_to = a.quantize_to;
    opts.vocabulary_quantization = a.vocabulary_quantization;
    opts.device = a.device;
    // Fail on a bad output path before the long work.
    let folder = OutputFolder::new(&a.output, a.force)?;
    if let Some(corpus) = &a.corpus {
        return pretrained(&a, &opts, corpus, folder);
    }
    let distilled = if !a.quiet && std::io::stderr().is_terminal() {
        m2v_distill::distill(&opts, &Bar(tokens_bar()))?
    } else {
        m2v_distill::distill(&opts, &m2v_distill::Quiet)?
    };
    report(&a, &distilled, folder)
}

/// Saves, pushes and reports a distilled model.
fn report(a: &Args, distilled: &m2v_distill::Distilled, folder: OutputFolder) -> Result<()> {
    let t_save = std::time::Instant::now();
    let output = distilled.save(folder)?;
    let size_bytes = m2v_static::save::folder_size(&output);
    let saved_in = t_save.elapsed();
    if let Some(repo) = &a.push_to {
        let options = m2v_hub::PushOptions {
            private: a.private,
            token: None,
            message: Some(format!(
                "Add a static model distilled from {} with m2v",
                a.model
            )),
        };
        let info = m2v_hub::push_folder(&output, repo, options).with_context(|| {
            format!(
                "the model is saved in {}, but pushing it to {repo} failed",
                output.display()
            )
        })?;
        if !a.quiet {
            eprintln!("pushed to {}", m2v_hub::printable(&info.commit_url));
        }
    }
    if a.quiet {
        return Ok(());
    }
    let s = distilled.summary();
    println!("saved {}", output.display());
    println!(
        "  vocabulary     {} tokens ({} pruned added tokens, {} removed by pattern, {} words added, {} multi-word, {} duplicates, {} empty)",
        s.vocab_size,
        s.stats.pruned_added,
        s.stats.removed_by_pattern,
        s.stats.added_tokens,
        s.stats.multiword,
        s.stats.duplicates,
        s.stats.empty
    );
    println!(
        "  embeddings     {} x {} {} (teacher {}-d)",
        s.rows, s.dim, s.dtype, s.teacher_dim
    );
    match s.explained_variance {
        Some(v) => println!("  PCA            explained variance ratio {v:.4}"),
        None => println!("  PCA            not applied"),
    }
    if let Some(note) = &s.pca_note {
        println!("  note           {note}");
    }
    let mut phases: Vec<String> = s
        .phases
        .iter()
        .map(|(n, d)| format!("{n} {:.1} s", d.as_secs_f64()))
        .collect();
    phases.push(format!("save {:.1} s", saved_in.as_secs_f64()));
    println!(
        "  time           {:.1} s ({})",
        (s.total + saved_in).as_secs_f64(),
        phases.join(", ")
    );
    println!("  size on disk   {}", human_bytes(size_bytes));
    Ok(())
}
