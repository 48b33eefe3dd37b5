//! The model card (`README.md`) of a saved model.
//!
//! The YAML front matter has the keys Python `model2vec` 0.10.0 writes
//! (`huggingface_hub.ModelCardData`, keys sorted): `base_model`, `language` when known,
//! `library_name: model2vec`, `license`, `model_name`, `tags`. The text is our own.
//! [`front_matter`] reads `base_model` and `language` back, as Python's
//! `get_metadata_from_readme` does when it loads a model.

use m2v_tokenize::json::python_float_repr;

/// What a model card says.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ModelCard {
    /// The model it was made from: a hub id or a folder name (`unknown` when not known,
    /// as in Python).
    pub base_model: String,
    /// Languages, when known.
    pub language: Vec<String>,
    /// The model's name (Python: the output folder's name unless given).
    pub model_name: String,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Embedding dimensions.
    pub dim: usize,
    /// numpy name of the stored dtype.
    pub dtype: String,
    /// How a distilled model was made; `None` for a model saved from a loaded one.
    pub distillation: Option<Distillation>,
}

/// The distillation settings a card of a distilled model records.
#[derive(Debug, Clone, PartialEq)]
pub struct Distillation {
    /// The PCA, in words (`256 (256 of 384 dimensions kept)`, `none`).
    pub pca: String,
    /// SIF coefficient, if any.
    pub sif: Option<f64>,
    /// Pooling used on the teacher.
    pub pooling: String,
}

impl ModelCard {
    /// A card with the given facts and no distillation record.
    pub fn new(
        base_model: impl Into<String>,
        model_name: impl Into<String>,
        vocab_size: usize,
        dim: usize,
        dtype: impl Into<String>,
    ) -> Self {
        ModelCard {
            base_model: base_model.into(),
            language: Vec::new(),
            model_name: model_name.into(),
            vocab_size,
            dim,
            dtype: dtype.into(),
            distillation: None,
        }
    }

    /// The same card with languages.
    pub fn with_language(mut self, language: Vec<String>) -> Self {
        self.language = language;
        self
    }

    /// The same card recording how the model was distilled.
    pub fn with_distillation(mut self, d: Distillation) -> Self {
        self.distillation = Some(d);
        self
    }

    /// The card's text (`README.md`).
    pub fn render(&self) -> String {
        let mut fm = String::new();
        fm.push_str(&format!("base_model: {}\n", yaml_scalar(&self.base_model)));
        if !self.language.is_empty() {
            fm.push_str("language:\n");
            for l in &self.language {
                fm.push_str(&format!("- {}\n", yaml_scalar(l)));
            }
        }
        fm.push_str("library_name: model2vec\nlicense: mit\n");
        fm.push_str(&format!("model_name: {}\n", yaml_scalar(&self.model_name)));
        fm.push_str("tags:\n- embeddings\n- static-embeddings\n- sentence-transformers\n");
        match &self.distillation {
            Some(d) => distilled_text(self, d, &fm),
            None => saved_text(self, &fm),
        }
    }
}

/// A YAML scalar: plain when it is unambiguous, else single-quoted.
fn yaml_scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && !s.starts_with(['-', '.'])
        && s.parse::<f64>().is_err()
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "~"
        );
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// Reads `base_model` and `language` from a card's YAML front matter (the subset of
/// YAML model cards use: `key: value`, `key:` followed by `- item` lines, quoted
/// scalars). Missing keys give `None` / an empty list.
pub fn front_matter(readme: &str) -> (Option<String>, Vec<String>) {
    let mut base = None;
    let mut language = Vec::new();
    let mut lines = readme.lines();
    if lines.next().map(str::trim_end) != Some("---") {
        return (None, language);
    }
    let mut in_language = false;
    for line in lines {
        let line = line.trim_end();
        if line == "---" {
            break;
        }
        if let Some(item) = line.trim_start().strip_prefix("- ") {
            if in_language {
                language.push(unquote(item));
            }
            continue;
        }
        in_language = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim() {
            "base_model" if !value.is_empty() => base = Some(unquote(value)),
            "language" if value.is_empty() => in_language = true,
            "language" => language.push(unquote(value)),
            _ => {}
        }
    }
    (base, language)
}

fn unquote(s: &str) -> String {
    let s = s.trim();
    if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') {
        s[1..s.len() - 1].replace("''", "'")
    } else if s.len() >= 2 && s.starts_with('"') && s.ends_with('"') {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// The text of a distilled model's card (what `m2v-cli distill` has always written).
fn distilled_text(c: &ModelCard, d: &Distillation, fm: &str) -> String {
    let sif = d.sif.map_or_else(|| "none".to_string(), python_float_repr);
    let name = &c.model_name;
    let base = &c.base_model;
    format!(
        "---\n{fm}---\n\n# {name} Model Card\n\n\
This is a static embedding model in the [Model2Vec](https://github.com/MinishLab/model2vec) \
format, distilled from the `{base}` sentence transformer with `m2v-cli distill`. \
Every token of its vocabulary was passed through the teacher once; the outputs were \
reduced with PCA and weighted with Zipf/SIF weights. Encoding a text is a table lookup \
and a mean, so it runs in microseconds on a CPU with no neural network at all.\n\n\
| | |\n|---|---|\n\
| vocabulary | {vocab} tokens |\n\
| dimensions | {dim} |\n\
| stored as | {dtype} |\n\
| PCA | {pca} |\n\
| SIF coefficient | {sif} |\n\
| teacher pooling | {pooling} |\n\n\
## Usage\n\n\
With the m2v command line (or the `m2v-static` Rust crate):\n\n\
```\nm2v-cli encode --model {name} --input sentences.txt\n```\n\n\
With Python [model2vec](https://github.com/MinishLab/model2vec):\n\n\
```python\nfrom model2vec import StaticModel\n\n\
model = StaticModel.from_pretrained(\"{name}\")\n\
embeddings = model.encode([\"Example sentence\"])\n```\n\n\
With [sentence-transformers](https://github.com/UKPLab/sentence-transformers):\n\n\
```python\nfrom sentence_transformers import SentenceTransformer\n\n\
model = SentenceTransformer(\"{name}\")\n\
embeddings = model.encode([\"Example sentence\"])\n```\n\n\
## How it was made\n\n\
The distillation follows Model2Vec (Tulkens and van Dongen, 2024): feed each token, \
framed by the teacher's start and end tokens, through the teacher and pool its output; \
reduce the dimensions with PCA; multiply each row by a SIF weight estimated from the \
token's rank (Zipf's law); store the rows. Embeddings are normalized at inference.\n\n\
## Citation\n\n\
```\n@software{{minishlab2024model2vec,\n  author    = {{Stephan Tulkens and {{van Dongen}}, Thomas}},\n  \
title     = {{Model2Vec: Fast State-of-the-Art Static Embeddings}},\n  year      = {{2024}},\n  \
publisher = {{Zenodo}},\n  doi       = {{10.5281/zenodo.17270888}},\n  \
url       = {{https://github.com/MinishLab/model2vec}},\n}}\n```\n",
        vocab = c.vocab_size,
        dim = c.dim,
        dtype = c.dtype,
        pca = d.pca,
        pooling = d.pooling,
    )
}

/// The text of a card for a model saved (converted, re-saved) from a loaded one.
fn saved_text(c: &ModelCard, fm: &str) -> String {
    let name = &c.model_name;
    let base = &c.base_model;
    format!(
        "---\n{fm}---\n\n# {name} Model Card\n\n\
This is a static embedding model in the [Model2Vec](https://github.com/MinishLab/model2vec) \
format, based on `{base}` and saved with m2v. \
Encoding a text is a table lookup and a mean, so it runs in microseconds on a CPU.\n\n\
| | |\n|---|---|\n\
| vocabulary | {vocab} tokens |\n\
| dimensions | {dim} |\n\
| stored as | {dtype} |\n\n\
## Usage\n\n\
With the m2v command line (or the `m2v-static` Rust crate):\n\n\
```\nm2v-cli encode --model {name} --input sentences.txt\n```\n\n\
With Python [model2vec](https://github.com/MinishLab/model2vec):\n\n\
```python\nfrom model2vec import StaticModel\n\n\
model = StaticModel.from_pretrained(\"{name}\")\n\
embeddings = model.encode([\"Example sentence\"])\n```\n",
        vocab = c.vocab_size,
        dim = c.dim,
        dtype = c.dtype,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_like_reference() {
        let card = ModelCard::new(
            "sentence-transformers/all-MiniLM-L6-v2",
            "out",
            10,
            4,
            "float16",
        )
        .with_distillation(Distillation {
            pca: "256".into(),
            sif: Some(1e-4),
            pooling: "mean".into(),
        });
        let text = card.render();
        // The front matter Python model2vec 0.10.0 writes for the same inputs.
        assert!(text.starts_with(
            "---\nbase_model: sentence-transformers/all-MiniLM-L6-v2\nlibrary_name: model2vec\nlicense: mit\n\
model_name: out\ntags:\n- embeddings\n- static-embeddings\n- sentence-transformers\n---\n"
        ));
        assert_eq!(yaml_scalar("a: b"), "'a: b'");
        assert_eq!(yaml_scalar("123"), "'123'");
        assert_eq!(yaml_scalar("b93a2ed"), "b93a2ed");
    }

    #[test]
    fn front_matter_reads_back() {
        let card = ModelCard::new("a: b", "m", 1, 1, "float32")
            .with_language(vec!["en".into(), "no".into()]);
        let (base, lang) = front_matter(&card.render());
        assert_eq!(base.as_deref(), Some("a: b"));
        assert_eq!(lang, ["en", "no"]);
        assert_eq!(front_matter("no front matter"), (None, vec![]));
        assert_eq!(
            front_matter("---\nlanguage: en\nbase_model: \"x/y\"\n---\n"),
            (Some("x/y".to_string()), vec!["en".to_string()])
        );
    }
}
