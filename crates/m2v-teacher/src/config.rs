//! The configuration files of a sentence-transformers folder, mirrored field for field.
//!
//! - `config.json`: [`ModelConfig`] (Hugging Face `transformers` names).
//! - `modules.json`, `1_Pooling/config.json`, `sentence_bert_config.json`:
//!   [`SentenceConfig`], the sentence-transformers pipeline on top of the transformer.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::Error;
use crate::pooling::Pooling;

/// `config.json` of a Hugging Face encoder, with the fields BERT-like and MPNet models
/// use (DistilBERT's names, `dim`, `n_layers`, `n_heads`, `hidden_dim`, `activation`,
/// are read as aliases). Optional fields default to the values of `transformers`'
/// config classes.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelConfig {
    /// `bert`, `mpnet`, ... (selects the architecture).
    pub model_type: String,
    /// e.g. `["BertModel"]`; informative only.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// Rows of the word embedding table.
    pub vocab_size: usize,
    /// Width of the hidden states.
    #[serde(alias = "dim")]
    pub hidden_size: usize,
    /// Number of transformer layers.
    #[serde(alias = "n_layers")]
    pub num_hidden_layers: usize,
    /// Attention heads per layer; must divide `hidden_size`.
    #[serde(alias = "n_heads")]
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    #[serde(alias = "hidden_dim")]
    pub intermediate_size: usize,
    /// Feed-forward activation: `gelu`, `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`,
    /// `relu`, `silu`/`swish`.
    #[serde(default = "default_act", alias = "activation")]
    pub hidden_act: String,
    /// Rows of the position embedding table.
    #[serde(default = "default_max_pos")]
    pub max_position_embeddings: usize,
    /// Rows of the token-type embedding table (BERT).
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon (HF BERT: `1e-12`, not Burn's `1e-5`).
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Padding id (BERT 0, MPNet and RoBERTa 1).
    #[serde(default)]
    pub pad_token_id: Option<u32>,
    /// BERT position embeddings: only `absolute` is supported.
    #[serde(default = "default_pos_type")]
    pub position_embedding_type: String,
    /// MPNet relative-position buckets.
    #[serde(default = "default_buckets")]
    pub relative_attention_num_buckets: usize,
}

fn default_act() -> String {
    "gelu".to_string()
}
fn default_max_pos() -> usize {
    512
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_pos_type() -> String {
    "absolute".to_string()
}
fn default_buckets() -> usize {
    32
}

/// The feed-forward activation named by `hidden_act`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// Exact GELU (`0.5 x (1 + erf(x / sqrt 2))`).
    Gelu,
    /// The tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    Relu,
    Silu,
}

impl ModelConfig {
    /// Reads and checks `config.json`. An architecture without a module is refused by
    /// its `model_type` first, before its fields (which other families name differently,
    /// e.g. DistilBERT's `dim`) could give a misleading "missing field" error.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        #[derive(Deserialize)]
        struct TypeOnly {
            model_type: String,
        }
        let t: TypeOnly = read_json(path)?;
        if !crate::encoder::ARCHITECTURES.contains(&t.model_type.as_str()) {
            return Err(Error::UnsupportedArchitecture {
                path: path.to_path_buf(),
                model_type: t.model_type,
                supported: crate::encoder::ARCHITECTURES,
            });
        }
        let cfg: Self = read_json(path)?;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), Error> {
        let bad = |field: &str, message: String| Error::InvalidField {
            path: path.to_path_buf(),
            field: field.to_string(),
            message,
        };
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(bad(
                "num_attention_heads",
                format!(
                    "{} heads do not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
        ] {
            if v == 0 {
                return Err(bad(field, "must be positive".to_string()));
            }
        }
        self.activation(path)?;
        Ok(())
    }

    /// The activation of `hidden_act`, or an error naming the field.
    pub(crate) fn activation(&self, path: &Path) -> Result<Activation, Error> {
        Ok(match self.hidden_act.as_str() {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            other => {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    field: "hidden_act".to_string(),
                    value: other.to_string(),
                });
            }
        })
    }
}

/// One entry of `modules.json`.
#[derive(Debug, Clone, Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

/// `1_Pooling/config.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct PoolingFile {
    pooling_mode_cls_token: bool,
    pooling_mode_mean_tokens: bool,
    pooling_mode_max_tokens: bool,
    pooling_mode_mean_sqrt_len_tokens: bool,
    pooling_mode_weightedmean_tokens: bool,
    pooling_mode_lasttoken: bool,
    /// sentence-transformers 6's form: one mode name (or a list, which concatenates
    /// several pooled rows: not supported).
    pooling_mode: Option<serde_json::Value>,
    include_prompt: Option<bool>,
}

/// `sentence_bert_config.json`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SentenceBertFile {
    max_seq_length: Option<usize>,
    do_lower_case: bool,
}

/// `<i>_Dense/config.json` (sentence-transformers' `Dense` module).
#[derive(Debug, Clone, Deserialize)]
struct DenseFile {
    in_features: usize,
    out_features: usize,
    #[serde(default = "yes")]
    bias: bool,
    /// Absent means Tanh, as sentence-transformers' `Dense` defaults.
    activation_function: Option<String>,
    #[serde(default)]
    use_residual: bool,
    module_input_name: Option<String>,
    module_output_name: Option<String>,
}

fn yes() -> bool {
    true
}

/// `config_sentence_transformers.json`: the prompts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct SentenceTransformersFile {
    prompts: BTreeMap<String, String>,
    default_prompt_name: Option<String>,
}

/// The activation after a `Dense` module's linear layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenseActivation {
    /// `torch.nn.Identity`.
    Identity,
    /// `torch.nn.Tanh` (the default).
    Tanh,
    /// `torch.nn.ReLU`.
    Relu,
    /// `torch.nn.GELU` (exact).
    Gelu,
    /// `torch.nn.Sigmoid`.
    Sigmoid,
}

/// A sentence-transformers `Dense` module after the pooling (LaBSE's 768→768 Tanh
/// layer, EmbeddingGemma's two projections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DenseModule {
    /// Its folder (`2_Dense/`), holding `config.json` and the weights.
    pub dir: PathBuf,
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
    /// Whether the linear layer has a bias.
    pub bias: bool,
    /// The activation applied to the linear layer's output.
    pub activation: DenseActivation,
    /// `use_residual`: the input (projected by `residual` when the widths differ) is
    /// added to the output.
    pub residual: bool,
}

impl DenseModule {
    /// Reads the module's `config.json` in `dir`.
    pub fn from_dir(dir: PathBuf) -> Result<Self, Error> {
        let path = dir.join("config.json");
        let f: DenseFile = read_json(&path)?;
        for (field, name) in [
            ("module_input_name", &f.module_input_name),
            ("module_output_name", &f.module_output_name),
        ] {
            if let Some(n) = name
                && n != "sentence_embedding"
            {
                return Err(Error::Unsupported {
                    path,
                    field: field.to_string(),
                    value: n.clone(),
                });
            }
        }
        let activation = match f.activation_function.as_deref() {
            None | Some("torch.nn.modules.activation.Tanh") => DenseActivation::Tanh,
            Some("torch.nn.modules.linear.Identity") => DenseActivation::Identity,
            Some("torch.nn.modules.activation.ReLU") => DenseActivation::Relu,
            Some("torch.nn.modules.activation.GELU") => DenseActivation::Gelu,
            Some("torch.nn.modules.activation.Sigmoid") => DenseActivation::Sigmoid,
            Some(other) => {
                return Err(Error::Unsupported {
                    path,
                    field: "activation_function".to_string(),
                    value: other.to_string(),
                });
            }
        };
        Ok(Self {
            dir,
            in_features: f.in_features,
            out_features: f.out_features,
            bias: f.bias,
            activation,
            residual: f.use_residual,
        })
    }
}

/// The sentence-transformers pipeline of a folder: pooling, the `Dense` modules,
/// normalization, the maximum sequence length and the prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentenceConfig {
    /// How token rows become one sentence row (`1_Pooling/config.json`; mean when the
    /// folder has no `modules.json`, as sentence-transformers does for a plain model).
    pub pooling: Pooling,
    /// Whether `modules.json` ends with a `Normalize` module.
    pub normalize: bool,
    /// `max_seq_length` of `sentence_bert_config.json` (special tokens included).
    pub max_seq_length: Option<usize>,
    /// `do_lower_case` of `sentence_bert_config.json`: lowercase texts before tokenizing.
    pub lowercase: bool,
    /// The folders of the `Dense` modules after the pooling, in order (LaBSE has one,
    /// EmbeddingGemma two). Distillation, which pools the transformer's output itself
    /// as Python's `distill` does, never reads them; sentence encoding loads and
    /// applies them ([`DenseModule::from_dir`]).
    pub dense: Vec<PathBuf>,
    /// `prompts` of `config_sentence_transformers.json` (name to text prepended).
    pub prompts: BTreeMap<String, String>,
    /// `default_prompt_name` of `config_sentence_transformers.json`: the prompt used
    /// when none is asked for.
    pub default_prompt_name: Option<String>,
}

impl SentenceConfig {
    /// Reads the sentence-transformers files of `dir`. A folder without `modules.json` is
    /// a plain transformer: mean pooling, no normalization. After the pooling come
    /// `Dense` modules and `Normalize`, in that order; anything else out of place is an
    /// error.
    pub fn from_dir(dir: &Path) -> Result<Self, Error> {
        let st = dir.join("config_sentence_transformers.json");
        let st: SentenceTransformersFile = if st.is_file() {
            read_json(&st)?
        } else {
            SentenceTransformersFile::default()
        };
        if let Some(name) = &st.default_prompt_name
            && !st.prompts.contains_key(name)
        {
            return Err(Error::InvalidField {
                path: dir.join("config_sentence_transformers.json"),
                field: "default_prompt_name".to_string(),
                message: format!("`{name}` is not one of the prompts"),
            });
        }
        let sbert = dir.join("sentence_bert_config.json");
        let max_seq_length = if sbert.is_file() {
            let f: SentenceBertFile = read_json(&sbert)?;
            (f.max_seq_length, f.do_lower_case)
        } else {
            (None, false)
        };
        let (max_seq_length, lowercase) = max_seq_length;
        let modules_path = dir.join("modules.json");
        if !modules_path.is_file() {
            return Ok(Self {
                pooling: Pooling::Mean,
                normalize: false,
                max_seq_length,
                lowercase,
                dense: Vec::new(),
                prompts: st.prompts,
                default_prompt_name: st.default_prompt_name,
            });
        }
        let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
        let mut pooling = None;
        let mut normalize = false;
        let mut dense = Vec::new();
        for (i, m) in modules.iter().enumerate() {
            let short = m.kind.rsplit('.').next().unwrap_or(&m.kind);
            match short {
                "Transformer" if i == 0 => {}
                "Pooling" if pooling.is_none() && !normalize => {
                    let p = dir.join(&m.path).join("config.json");
                    pooling = Some(pooling_from_file(&p)?);
                }
                "Normalize" if pooling.is_some() => normalize = true,
                // After the pooling (LaBSE: Dense, then Normalize).
                "Dense" if pooling.is_some() && !normalize => {
                    dense.push(dir.join(&m.path));
                }
                _ => {
                    return Err(Error::Unsupported {
                        path: modules_path,
                        field: format!("[{i}].type"),
                        value: m.kind.clone(),
                    });
                }
            }
        }
        let pooling = pooling.ok_or_else(|| Error::InvalidField {
            path: modules_path.clone(),
            field: "type".to_string(),
            message: "no sentence_transformers.models.Pooling module".to_string(),
        })?;
        Ok(Self {
            pooling,
            normalize,
            max_seq_length,
            lowercase,
            dense,
            prompts: st.prompts,
            default_prompt_name: st.default_prompt_name,
        })
    }
}

fn pooling_from_file(path: &Path) -> Result<Pooling, Error> {
    let f: PoolingFile = read_json(path)?;
    if f.include_prompt == Some(false) {
        return Err(Error::Unsupported {
            path: path.to_path_buf(),
            field: "include_prompt".to_string(),
            value: "false".to_string(),
        });
    }
    if let Some(mode) = &f.pooling_mode {
        let name = match mode {
            serde_json::Value::String(s) => s.as_str(),
            serde_json::Value::Array(a) if a.len() == 1 && a[0].is_string() => {
                a[0].as_str().unwrap_or_default()
            }
            other => {
                return Err(Error::Unsupported {
                    path: path.to_path_buf(),
                    field: "pooling_mode".to_string(),
                    value: other.to_string(),
                });
            }
        };
        return match name {
            "cls" => Ok(Pooling::First),
            "mean" => Ok(Pooling::Mean),
            "max" => Ok(Pooling::Max),
            "mean_sqrt_len_tokens" => Ok(Pooling::MeanSqrtLen),
            "lasttoken" => Ok(Pooling::Last),
            other => Err(Error::Unsupported {
                path: path.to_path_buf(),
                field: "pooling_mode".to_string(),
                value: other.to_string(),
            }),
        };
    }
    let modes = [
        (
            f.pooling_mode_cls_token,
            "pooling_mode_cls_token",
            Some(Pooling::First),
        ),
        (
            f.pooling_mode_mean_tokens,
            "pooling_mode_mean_tokens",
            Some(Pooling::Mean),
        ),
        (
            f.pooling_mode_max_tokens,
            "pooling_mode_max_tokens",
            Some(Pooling::Max),
        ),
        (
            f.pooling_mode_mean_sqrt_len_tokens,
            "pooling_mode_mean_sqrt_len_tokens",
            Some(Pooling::MeanSqrtLen),
        ),
        (
            f.pooling_mode_weightedmean_tokens,
            "pooling_mode_weightedmean_tokens",
            None,
        ),
        (
            f.pooling_mode_lasttoken,
            "pooling_mode_lasttoken",
            Some(Pooling::Last),
        ),
    ];
    let on: Vec<_> = modes.iter().filter(|m| m.0).collect();
    match on.as_slice() {
        [(_, _, Some(p))] => Ok(*p),
        [(_, field, None)] => Err(Error::Unsupported {
            path: path.to_path_buf(),
            field: (*field).to_string(),
            value: "true".to_string(),
        }),
        // sentence-transformers pools by the mean when no mode is set.
        [] => Ok(Pooling::Mean),
        many => Err(Error::Unsupported {
            path: path.to_path_buf(),
            field: "pooling_mode_*".to_string(),
            value: many.iter().map(|m| m.1).collect::<Vec<_>>().join(" + "),
        }),
    }
}

/// Reads a JSON file into `T`, naming the file in every error.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, Error> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Json {
        path: PathBuf::from(path),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let d = std::env::temp_dir().join(format!(
            "m2v-teacher-cfg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        for (name, text) in files {
            let p = d.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        d
    }

    const MODULES: &str = r#"[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},
        {"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},
        {"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]"#;

    #[test]
    fn reads_pooling_normalize_and_length() {
        let d = dir_with(&[
            ("modules.json", MODULES),
            (
                "1_Pooling/config.json",
                r#"{"word_embedding_dimension": 4, "pooling_mode_cls_token": true}"#,
            ),
            ("sentence_bert_config.json", r#"{"max_seq_length": 7}"#),
        ]);
        let c = SentenceConfig::from_dir(&d).unwrap();
        assert_eq!(
            c,
            SentenceConfig {
                pooling: Pooling::First,
                normalize: true,
                max_seq_length: Some(7),
                lowercase: false,
                dense: Vec::new(),
                prompts: BTreeMap::new(),
                default_prompt_name: None,
            }
        );
    }

    #[test]
    fn no_modules_means_mean_pooling() {
        let d = dir_with(&[("config.json", "{}")]);
        let c = SentenceConfig::from_dir(&d).unwrap();
        assert_eq!(c.pooling, Pooling::Mean);
        assert!(!c.normalize);
        assert_eq!(c.max_seq_length, None);
    }

    #[test]
    fn unsupported_pieces_name_file_and_field() {
        let d = dir_with(&[
            ("modules.json", MODULES),
            (
                "1_Pooling/config.json",
                r#"{"pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": true}"#,
            ),
        ]);
        let e = SentenceConfig::from_dir(&d).unwrap_err().to_string();
        assert!(e.contains("1_Pooling/config.json"), "{e}");
        assert!(
            e.contains("pooling_mode_mean_tokens + pooling_mode_max_tokens"),
            "{e}"
        );

        // A Dense module after the pooling (LaBSE's shape) loads with its config; an
        // activation sentence-transformers would import from elsewhere is refused.
        let dense = MODULES.replace("Normalize\"}", "Dense\"}");
        let d = dir_with(&[
            ("modules.json", &dense),
            (
                "1_Pooling/config.json",
                r#"{"pooling_mode_mean_tokens": true}"#,
            ),
            (
                "2_Normalize/config.json",
                r#"{"in_features": 4, "out_features": 2, "bias": false,
                    "activation_function": "torch.nn.modules.linear.Identity"}"#,
            ),
        ]);
        let c = SentenceConfig::from_dir(&d).unwrap();
        assert_eq!(c.dense, [d.join("2_Normalize")]);
        let m = DenseModule::from_dir(c.dense[0].clone()).unwrap();
        assert_eq!((m.in_features, m.out_features, m.bias), (4, 2, false));
        assert_eq!(m.activation, DenseActivation::Identity);
        std::fs::write(
            d.join("2_Normalize/config.json"),
            r#"{"in_features": 4, "out_features": 2, "activation_function": "my.Act"}"#,
        )
        .unwrap();
        let e = DenseModule::from_dir(c.dense[0].clone())
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("2_Normalize/config.json: unsupported activation_function `my.Act`"),
            "{e}"
        );
        // A default prompt that is not among the prompts.
        std::fs::write(
            d.join("config_sentence_transformers.json"),
            r#"{"prompts": {"query": "q: "}, "default_prompt_name": "doc"}"#,
        )
        .unwrap();
        let e = SentenceConfig::from_dir(&d).unwrap_err().to_string();
        assert!(e.contains("default_prompt_name"), "{e}");
        // A module this crate does not know, anywhere, is an error naming it.
        let odd = MODULES.replace("Normalize\"}", "LayerNorm\"}");
        let d = dir_with(&[
            ("modules.json", &odd),
            (
                "1_Pooling/config.json",
                r#"{"pooling_mode_mean_tokens": true}"#,
            ),
        ]);
        let e = SentenceConfig::from_dir(&d).unwrap_err().to_string();
        assert!(e.contains("modules.json: unsupported [2].type"), "{e}");
    }

    #[test]
    fn config_errors_name_the_field() {
        let d = dir_with(&[(
            "config.json",
            r#"{"model_type":"bert","vocab_size":10,"hidden_size":8,"num_hidden_layers":1,
                "num_attention_heads":2,"intermediate_size":16,"hidden_act":"quick_gelu"}"#,
        )]);
        let e = ModelConfig::from_file(&d.join("config.json")).unwrap_err();
        assert!(
            e.to_string()
                .contains("unsupported hidden_act `quick_gelu`"),
            "{e}"
        );
        // An architecture without a module is named with the supported ones, before its
        // fields (named differently by other families) are read.
        let d = dir_with(&[(
            "config.json",
            r#"{"model_type":"t5","vocab_size":10,"d_model":8}"#,
        )]);
        let e = ModelConfig::from_file(&d.join("config.json"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("unsupported model_type `t5` (supported: bert, distilbert, "),
            "{e}"
        );
        assert!(e.contains("modernbert"), "{e}");
        // DistilBERT's own field names are read.
        let d = dir_with(&[(
            "config.json",
            r#"{"model_type":"distilbert","vocab_size":10,"dim":8,"n_layers":1,"n_heads":2,"hidden_dim":16,"activation":"gelu"}"#,
        )]);
        let c = ModelConfig::from_file(&d.join("config.json")).unwrap();
        assert_eq!(
            (
                c.hidden_size,
                c.num_hidden_layers,
                c.num_attention_heads,
                c.intermediate_size
            ),
            (8, 1, 2, 16)
        );
        let d = dir_with(&[("config.json", r#"{"model_type":"bert"}"#)]);
        let e = ModelConfig::from_file(&d.join("config.json")).unwrap_err();
        assert!(e.to_string().contains("missing field `vocab_size`"), "{e}");
    }
}
