//! The three folder layouts Python model2vec 0.10.0 loads, tried in its order.

use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where a model's files live in its folder (model2vec may add layouts, hence
/// `#[non_exhaustive]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Layout {
    /// `config.json`, `model.safetensors` (tensor `embeddings`), `tokenizer.json`.
    Model2Vec,
    /// `config_sentence_transformers.json`, `model.safetensors` (tensor
    /// `embedding.weight`), `tokenizer.json`, all at the root.
    SentenceTransformers,
    /// `config_sentence_transformers.json` at the root, `model.safetensors` (tensor
    /// `embedding.weight`) and `tokenizer.json` under `0_StaticEmbedding/`.
    StaticEmbeddingModule,
}

/// The files of one model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Files {
    pub layout: Layout,
    pub config: PathBuf,
    pub safetensors: PathBuf,
    pub tokenizer: PathBuf,
}

impl Layout {
    /// All layouts, in the order they are tried.
    pub const ALL: [Layout; 3] = [
        Layout::Model2Vec,
        Layout::SentenceTransformers,
        Layout::StaticEmbeddingModule,
    ];

    /// The name of the embedding tensor in this layout.
    pub fn tensor_name(self) -> &'static str {
        match self {
            Layout::Model2Vec => "embeddings",
            _ => "embedding.weight",
        }
    }

    /// A short name: `model2vec`, `sentence-transformers`, `0_StaticEmbedding`.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Model2Vec => "model2vec",
            Layout::SentenceTransformers => "sentence-transformers",
            Layout::StaticEmbeddingModule => "0_StaticEmbedding",
        }
    }

    pub(crate) fn files(self, dir: &Path) -> Files {
        let (config, sub) = match self {
            Layout::Model2Vec => ("config.json", dir.to_path_buf()),
            Layout::SentenceTransformers => {
                ("config_sentence_transformers.json", dir.to_path_buf())
            }
            Layout::StaticEmbeddingModule => (
                "config_sentence_transformers.json",
                dir.join("0_StaticEmbedding"),
            ),
        };
        Files {
            layout: self,
            config: dir.join(config),
            safetensors: sub.join("model.safetensors"),
            tokenizer: sub.join("tokenizer.json"),
        }
    }

    /// The first layout whose three files all exist in `dir`.
    pub(crate) fn detect(dir: &Path) -> Result<Files, Error> {
        if !dir.is_dir() {
            return Err(Error::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
            });
        }
        Layout::ALL
            .iter()
            .map(|l| l.files(dir))
            .find(|f| f.config.exists() && f.safetensors.exists() && f.tokenizer.exists())
            .ok_or_else(|| Error::NoLayout {
                dir: dir.to_path_buf(),
            })
    }
}

impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
