//! The served models: static models and pipelines, loaded once, shared read-only.

use std::path::PathBuf;

use m2v_static::{Pipeline, StaticModel};

use crate::Error;

/// One model to serve: its name in the API and its local folder (a model2vec model or
/// a pipeline folder, told apart by `head.safetensors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSpec {
    /// The name clients pass as `model`.
    pub name: String,
    /// The folder.
    pub path: PathBuf,
}

impl ModelSpec {
    /// A spec named after the folder's last component (or `name` when given).
    pub fn new(name: Option<String>, path: PathBuf) -> ModelSpec {
        let name = name.unwrap_or_else(|| {
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string())
        });
        ModelSpec { name, path }
    }
}

/// A loaded model or pipeline.
#[derive(Debug)]
pub enum Served {
    /// A static model: embeddings only.
    Model(StaticModel),
    /// A pipeline: embeddings (its model) and predictions.
    Pipeline(Pipeline),
}

impl Served {
    /// Loads `spec`'s folder: a pipeline when it holds `head.safetensors`.
    pub fn load(spec: &ModelSpec) -> Result<Served, Error> {
        let wrap = |source| Error::Model {
            name: spec.name.clone(),
            path: spec.path.clone(),
            error: Box::new(source),
        };
        if spec.path.join("head.safetensors").is_file() {
            Pipeline::from_pretrained(&spec.path)
                .map(Served::Pipeline)
                .map_err(wrap)
        } else {
            StaticModel::from_pretrained(&spec.path)
                .map(Served::Model)
                .map_err(wrap)
        }
    }

    /// The static model (a pipeline's own).
    pub fn model(&self) -> &StaticModel {
        match self {
            Served::Model(m) => m,
            Served::Pipeline(p) => p.model(),
        }
    }

    /// The pipeline, if this is one.
    pub fn pipeline(&self) -> Option<&Pipeline> {
        match self {
            Served::Model(_) => None,
            Served::Pipeline(p) => Some(p),
        }
    }
}
