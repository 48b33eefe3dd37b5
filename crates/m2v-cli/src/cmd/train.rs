//! `m2v-cli train`, `predict` and `evaluate`: fine-tune a static model with a head
//! (`m2v-train`), run a saved pipeline (`m2v_static::Pipeline`), and score it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use m2v_static::{EncodeOptions, Label, Pipeline, Prediction};
use m2v_train::{ClassWeight, Columns, Format, Options, Progress, TargetKind, Task};

/// The tasks `train` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TaskArg {
    /// Single-label classification, or multi-label with --label-separator (CSV/TSV) or
    /// label lists (JSONL).
    Classify,
    /// Regression to target vectors with a cosine loss.
    Similarity,
    /// Regression with mean squared error (a number or a vector per row).
    Regression,
    /// Pairs of texts (`text_a`, `text_b` columns) pulled together with InfoNCE and
    /// in-batch negatives; the head projects embeddings.
    Pairs,
}

/// The data file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// Comma-separated with a header.
    Csv,
    /// Tab-separated with a header.
    Tsv,
    /// One JSON object per line.
    Jsonl,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Tsv => Format::Tsv,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}

/// Where the texts and labels are.
#[derive(Debug, Clone, clap::Args)]
pub struct DataArgs {
    /// The text column (default `text`; `text_a` for pairs).
    #[arg(long)]
    pub text_column: Option<String>,
    /// The label or target column (default `label`; `text_b`, the second text, for pairs).
    #[arg(long)]
    pub label_column: Option<String>,
    /// Multi-label CSV/TSV data: the separator between a row's labels (e.g. `|`).
    #[arg(long, value_name = "SEP")]
    pub label_separator: Option<String>,
    /// The data format (default: from the file extension: .csv, .tsv, .jsonl).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
}

impl DataArgs {
    fn columns(&self, pairs: bool) -> Columns {
        let (t, l) = if pairs {
            ("text_a", "text_b")
        } else {
            ("text", "label")
        };
        Columns {
            text: self.text_column.clone().unwrap_or_else(|| t.into()),
            target: self.label_column.clone().unwrap_or_else(|| l.into()),
        }
    }
}

/// Arguments of `m2v-cli train`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to train.
    #[arg(value_enum)]
    pub task: TaskArg,
    /// The static model to start from: a folder or a hub id.
    #[arg(long)]
    pub model: String,
    /// Training data (CSV, TSV or JSONL).
    #[arg(long)]
    pub data: PathBuf,
    /// Validation data (default: a split of --data, see --test-size).
    #[arg(long)]
    pub validation: Option<PathBuf>,
    /// Folder for the pipeline (refused if not empty, unless --force).
    #[arg(long)]
    pub output: PathBuf,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Hidden layers of the head.
    #[arg(long, default_value_t = 1)]
    pub n_layers: usize,
    /// Width of the hidden layers.
    #[arg(long, default_value_t = 512)]
    pub hidden_dim: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub learning_rate: f32,
    /// Rows per batch (default: 32 × clamp(rows / 960, 1, 16), as Python).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Epochs before early stopping may stop.
    #[arg(long)]
    pub min_epochs: Option<usize>,
    /// At most this many epochs (default: until early stopping).
    #[arg(long)]
    pub max_epochs: Option<usize>,
    /// Validation checks without gain before stopping; `none` never stops early.
    #[arg(long, default_value = "5", value_parser = parse_patience)]
    pub patience: Patience,
    /// Validation share (below 1) or number of rows when there is no --validation.
    #[arg(long, default_value_t = 0.1)]
    pub test_size: f64,
    /// `balanced`, or weights `LABEL=W,LABEL=W,...`.
    #[arg(long)]
    pub class_weight: Option<String>,
    /// Validate every N steps (default: every epoch, or 4 times an epoch when long).
    #[arg(long)]
    pub validation_steps: Option<usize>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Share of tokens dropped at random during training.
    #[arg(long, default_value_t = 0.0)]
    pub token_dropout: f32,
    /// Focal loss γ (0: cross-entropy).
    #[arg(long, default_value_t = 0.0)]
    pub focal_gamma: f32,
    /// Keep the embedding table fixed (train the head only).
    #[arg(long)]
    pub freeze: bool,
    /// `true`: keep token weights fixed; `false`: learn weights (from 1 if the model has
    /// none); default: train the model's own weights, if any.
    #[arg(long)]
    pub freeze_weights: Option<bool>,
    /// Do not normalize the pooled embedding before the head.
    #[arg(long)]
    pub no_normalize: bool,
    /// Token limit per text, or `none` (default: the model's).
    #[arg(long)]
    pub max_length: Option<crate::input::MaxLength>,
    /// Pairs: the InfoNCE temperature.
    #[arg(long, default_value_t = 0.05)]
    pub temperature: f32,
    /// Pairs: the output dimension of the head (default: the model's).
    #[arg(long)]
    pub out_dim: Option<usize>,
    /// Replace the output folder if it is not empty.
    #[arg(long)]
    pub force: bool,
    /// Upload the pipeline to this hub repository once saved (token from $HF_TOKEN or
    /// the Hugging Face login, as `m2v-cli push`).
    #[arg(long, value_name = "ORG/NAME")]
    pub push_to: Option<String>,
    /// With --push-to: create the repository as private.
    #[arg(long, requires = "push_to")]
    pub private: bool,
    /// No progress bar or summary.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--patience`.
#[derive(Debug, Clone, Copy)]
pub struct Patience(Option<usize>);

fn parse_patience(s: &str) -> Result<Patience, String> {
    if s.eq_ignore_ascii_case("none") {
        return Ok(Patience(None));
    }
    s.parse()
        .map(|n| Patience(Some(n)))
        .map_err(|_| format!("`{s}` is neither a number nor `none`"))
}

fn class_weight(s: Option<&str>) -> Result<ClassWeight> {
    let Some(s) = s else {
        return Ok(ClassWeight::None);
    };
    if s == "balanced" {
        return Ok(ClassWeight::Balanced);
    }
    let mut out = Vec::new();
    for part in s.split(',') {
        let (l, w) = part
            .rsplit_once('=')
            .with_context(|| format!("--class-weight: `{part}` is not LABEL=WEIGHT"))?;
        let w: f32 = w
            .parse()
            .ok()
            .filter(|w: &f32| w.is_finite() && *w >= 0.0)
            .with_context(|| format!("--class-weight: `{w}` is not a non-negative number"))?;
        out.push((Label::Str(l.to_string()), w));
    }
    Ok(ClassWeight::Given(out))
}

pub fn run(a: Args) -> Result<()> {
    let model = crate::input::load_model(&a.model)?;
    let kind = match a.task {
        TaskArg::Classify => TargetKind::Classes {
            separator: a.data_args.label_separator.clone(),
        },
        TaskArg::Similarity | TaskArg::Regression => TargetKind::Vectors,
        TaskArg::Pairs => TargetKind::Pairs,
    };
    let task = match a.task {
        TaskArg::Classify => Task::Classify,
        TaskArg::Similarity => Task::Similarity,
        TaskArg::Regression => Task::Regression,
        TaskArg::Pairs => Task::Pairs,
    };
    let format = a.data_args.format.map(Format::from);
    let columns = a.data_args.columns(task == Task::Pairs);
    // Fail on a bad output before the long work.
    m2v_static::save::OutputFolder::new(&a.output, a.force)?;
    let train = m2v_train::data::read(&a.data, format, &columns, &kind)?;
    let val = a
        .validation
        .as_ref()
        .map(|p| m2v_train::data::read(p, format, &columns, &kind))
        .transpose()?;
    let mut class_weight = class_weight(a.class_weight.as_deref())?;
    // Integer labels (JSONL) are weighted by their number.
    if let (ClassWeight::Given(w), m2v_train::Targets::Single(l)) =
        (&mut class_weight, &train.targets)
        && l.iter().any(|x| matches!(x, Label::Int(_)))
    {
        for (label, _) in w.iter_mut() {
            if let Label::Str(s) = label
                && let Ok(i) = s.parse()
            {
                *label = Label::Int(i);
            }
        }
    }
    let opts = Options {
        n_layers: a.n_layers,
        hidden_dim: a.hidden_dim,
        learning_rate: a.learning_rate,
        batch_size: a.batch_size,
        min_epochs: a.min_epochs,
        max_epochs: a.max_epochs,
        patience: a.patience.0,
        test_size: a.test_size,
        class_weight,
        validation_steps: a.validation_steps,
        seed: a.seed,
        token_dropout: a.token_dropout,
        focal_gamma: a.focal_gamma,
        freeze: a.freeze,
        freeze_weights: a.freeze_weights,
        normalize: !a.no_normalize,
        max_length: a.max_length.map(|m| m.0),
        temperature: a.temperature,
        out_dim: a.out_dim,
    };
    let mut bar = TrainBar::new(!a.quiet);
    let start = Instant::now();
    let trained = m2v_train::fit(&model, &train, val.as_ref(), task, &opts, &mut |p| {
        bar.report(p)
    })?;
    bar.finish();
    let out = trained.save_pipeline(&a.output, a.force)?;
    if !a.quiet {
        let metric = if task == Task::Classify {
            format!("best validation accuracy {:.4}", trained.best)
        } else {
            format!("best validation loss {:.4}", trained.best)
        };
        eprintln!(
            "trained {} epochs ({} steps) in {:.1} s, {metric}; saved {}",
            trained.epochs,
            trained.steps,
            start.elapsed().as_secs_f64(),
            out.display()
        );
    }
    if let Some(repo) = &a.push_to {
        let options = m2v_hub::PushOptions {
            private: a.private,
            token: None,
            message: Some("Upload a pipeline trained with m2v-cli train".into()),
        };
        let info = m2v_hub::push_folder(&out, repo, options)
            .with_context(|| format!("pushing {} to {repo}", out.display()))?;
        if !a.quiet {
            eprintln!("pushed {} files to {repo}", info.files.len());
        }
        println!("{}", m2v_hub::printable(&info.commit_url));
    }
    Ok(())
}

/// The training progress bar on stderr (hidden unless it is a terminal): the epoch,
/// the running loss (and accuracy), the last validation check; each check is also
/// printed as a line.
pub struct TrainBar {
    bar: ProgressBar,
    show: bool,
    last_val: String,
    train_msg: String,
}

impl TrainBar {
    /// A bar, drawn when `show` and stderr is a terminal.
    pub fn new(show: bool) -> Self {
        let show = show && std::io::stderr().is_terminal();
        let bar = ProgressBar::hidden();
        if show {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
        }
        TrainBar {
            bar,
            show,
            last_val: String::new(),
            train_msg: String::new(),
        }
    }

    /// Shows one report of the trainer.
    pub fn report(&mut self, p: &Progress) {
        let bar = &self.bar;
        match p {
            Progress::Epoch { epoch, steps } => {
                bar.set_prefix(format!("epoch {epoch}"));
                bar.set_length(*steps as u64);
                bar.set_position(0);
                bar.reset_eta();
            }
            Progress::Step { loss, accuracy } => {
                self.train_msg = match accuracy {
                    Some(acc) => format!("loss {loss:.4} acc {acc:.4}"),
                    None => format!("loss {loss:.4}"),
                };
                bar.inc(1);
                bar.set_message(format!("{}{}", self.train_msg, self.last_val));
            }
            Progress::Validation {
                loss,
                accuracy,
                best,
            } => {
                let star = if *best { " *" } else { "" };
                self.last_val = match accuracy {
                    Some(acc) => format!(" | val loss {loss:.4} acc {acc:.4}{star}"),
                    None => format!(" | val loss {loss:.4}{star}"),
                };
                bar.set_message(format!("{}{}", self.train_msg, self.last_val));
                if self.show {
                    bar.println(format!("{}{}", bar.prefix(), self.last_val));
                }
            }
        }
    }

    /// Clears the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// Arguments of `m2v-cli predict`.
#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// The pipeline folder (saved by `train` or Python's `StaticModelPipeline`).
    #[arg(long)]
    pub model: String,
    /// Texts, one per line (`-`: standard input).
    #[arg(long, default_value = "-")]
    pub input: String,
    /// Print the class probabilities too.
    #[arg(long)]
    pub proba: bool,
    /// Multi-label: the probability above which a class is predicted.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
}

fn label_json(l: &Label) -> serde_json::Value {
    match l {
        Label::Int(i) => serde_json::Value::from(*i),
        Label::Str(s) => serde_json::Value::from(s.as_str()),
    }
}

fn load_pipeline(arg: &str) -> Result<Pipeline> {
    let dir = super::model_dir(arg)?;
    Ok(Pipeline::from_pretrained(&dir)?)
}

pub fn predict(a: PredictArgs) -> Result<()> {
    let p = load_pipeline(&a.model)?;
    let texts = read_lines(&a.input)?;
    let opts = EncodeOptions::new();
    let preds = p.predict(&texts, &opts, a.threshold);
    let proba = if a.proba && p.head().activation() != m2v_static::Activation::Identity {
        Some(p.predict_proba(&texts, &opts)?)
    } else {
        None
    };
    let classes = p.head().classes().unwrap_or(&[]);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for (i, pred) in preds.iter().enumerate() {
        let mut obj = serde_json::Map::new();
        match pred {
            Prediction::Class(l) => {
                obj.insert("label".into(), label_json(l));
            }
            Prediction::Classes(ls) => {
                obj.insert("labels".into(), ls.iter().map(label_json).collect());
            }
            Prediction::Values(v) => {
                obj.insert(
                    "values".into(),
                    v.iter().map(|&x| serde_json::Value::from(x)).collect(),
                );
            }
        }
        if let Some(pr) = &proba {
            let m: serde_json::Map<String, serde_json::Value> = classes
                .iter()
                .zip(pr.row(i))
                .map(|(c, &x)| (c.to_string(), serde_json::Value::from(x)))
                .collect();
            obj.insert("proba".into(), m.into());
        }
        writeln!(out, "{}", serde_json::Value::Object(obj))?;
    }
    out.flush()?;
    Ok(())
}

fn read_lines(input: &str) -> Result<Vec<String>> {
    let mut texts = Vec::new();
    let mut push = |r: &mut dyn std::io::BufRead| -> Result<()> {
        let mut lines = crate::input::LineReader::new(r, false);
        while let Some(l) = lines.next_line()? {
            texts.push(l);
        }
        Ok(())
    };
    if input == "-" {
        push(&mut std::io::stdin().lock())?;
    } else {
        let f = std::fs::File::open(input).with_context(|| format!("cannot open {input}"))?;
        push(&mut std::io::BufReader::new(f))?;
    }
    Ok(texts)
}

/// Arguments of `m2v-cli evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    /// The pipeline folder.
    #[arg(long)]
    pub model: String,
    /// Labelled data (CSV, TSV or JSONL).
    #[arg(long)]
    pub data: PathBuf,
    #[command(flatten)]
    pub data_args: DataArgs,
    /// Multi-label: the probability above which a class is predicted.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f32,
    /// Print the report as JSON (the keys of Python's report).
    #[arg(long)]
    pub json: bool,
}

pub fn evaluate(a: EvaluateArgs) -> Result<()> {
    let p = load_pipeline(&a.model)?;
    if p.head().activation() == m2v_static::Activation::Identity {
        bail!(
            "{}: a regression pipeline has no classification report",
            a.model
        );
    }
    let kind = TargetKind::Classes {
        separator: a.data_args.label_separator.clone(),
    };
    let data = m2v_train::data::read(
        &a.data,
        a.data_args.format.map(Format::from),
        &a.data_args.columns(false),
        &kind,
    )?;
    let truth: Vec<Vec<Label>> = match &data.targets {
        m2v_train::Targets::Single(l) => l.iter().map(|x| vec![x.clone()]).collect(),
        m2v_train::Targets::Multi(l) => l.clone(),
        _ => bail!("{}: no labels", a.data.display()),
    };
    // CSV labels are strings: compare integer classes by their text.
    let classes_are_ints = p
        .head()
        .classes()
        .is_some_and(|c| c.iter().all(|x| matches!(x, Label::Int(_))));
    let truth: Vec<Vec<Label>> = if classes_are_ints {
        truth
            .into_iter()
            .map(|ls| {
                ls.into_iter()
                    .map(|l| match l {
                        Label::Str(s) => s.parse().map(Label::Int).unwrap_or(Label::Str(s)),
                        l => l,
                    })
                    .collect()
            })
            .collect()
    } else {
        truth
    };
    let preds: Vec<Vec<Label>> = p
        .predict(&data.texts, &EncodeOptions::new(), a.threshold)
        .into_iter()
        .map(|x| match x {
            Prediction::Class(l) => vec![l],
            Prediction::Classes(ls) => ls,
            _ => Vec::new(),
        })
        .collect();
    let r = m2v_train::report::report(&truth, &preds);
    if a.json {
        let scores = |s: &m2v_train::report::Scores| serde_json::json!({"precision": s.precision, "recall": s.recall, "f1-score": s.f1, "support": s.support});
        let mut obj = serde_json::Map::new();
        for (c, s) in &r.classes {
            obj.insert(c.to_string(), scores(s));
        }
        obj.insert("accuracy".into(), r.accuracy.into());
        obj.insert("macro avg".into(), scores(&r.macro_avg));
        obj.insert("weighted avg".into(), scores(&r.weighted_avg));
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::Value::Object(obj))?
        );
    } else {
        print!("{r}");
    }
    Ok(())
}
