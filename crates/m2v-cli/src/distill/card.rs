//! The model card (`README.md`) of a distilled model.
//!
//! The YAML front matter has the keys Python `model2vec` 0.10.0 writes
//! (`huggingface_hub.ModelCardData`, keys sorted): `base_model`, `language` when known,
//! `library_name: model2vec`, `license`, `model_name`, `tags`. The text is our own.

/// What the card says.
#[derive(Debug, Clone)]
pub struct Card<'a> {
    /// The teacher: its hub id, or the folder name of a local teacher (as the reference).
    pub base_model: &'a str,
    /// Languages from the teacher's card, when known.
    pub language: &'a [String],
    /// The model's name: the output folder's name.
    pub model_name: &'a str,
    /// Vocabulary size.
    pub vocab_size: usize,
    /// Embedding dimensions.
    pub dim: usize,
    /// numpy name of the stored dtype.
    pub dtype: &'a str,
    /// `apply_pca` as written in config.json.
    pub pca: &'a str,
    /// SIF coefficient, if any.
    pub sif: Option<f64>,
    /// Pooling used on the teacher.
    pub pooling: &'a str,
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

/// The card's text.
pub fn render(c: &Card<'_>) -> String {
    let mut fm = String::new();
    fm.push_str(&format!("base_model: {}\n", yaml_scalar(c.base_model)));
    if !c.language.is_empty() {
        fm.push_str("language:\n");
        for l in c.language {
            fm.push_str(&format!("- {}\n", yaml_scalar(l)));
        }
    }
    fm.push_str("library_name: model2vec\nlicense: mit\n");
    fm.push_str(&format!("model_name: {}\n", yaml_scalar(c.model_name)));
    fm.push_str("tags:\n- embeddings\n- static-embeddings\n- sentence-transformers\n");
    let sif = c
        .sif
        .map_or_else(|| "none".to_string(), super::pyjson::float_repr);
    let name = c.model_name;
    let base = c.base_model;
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
        pca = c.pca,
        pooling = c.pooling,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_like_reference() {
        let text = render(&Card {
            base_model: "sentence-transformers/all-MiniLM-L6-v2",
            language: &[],
            model_name: "out",
            vocab_size: 10,
            dim: 4,
            dtype: "float16",
            pca: "256",
            sif: Some(1e-4),
            pooling: "mean",
        });
        // The front matter Python model2vec 0.10.0 writes for the same inputs.
        assert!(text.starts_with(
            "---\nbase_model: sentence-transformers/all-MiniLM-L6-v2\nlibrary_name: model2vec\nlicense: mit\n\
model_name: out\ntags:\n- embeddings\n- static-embeddings\n- sentence-transformers\n---\n"
        ));
        assert_eq!(yaml_scalar("a: b"), "'a: b'");
        assert_eq!(yaml_scalar("123"), "'123'");
        assert_eq!(yaml_scalar("b93a2ed"), "b93a2ed");
    }
}
