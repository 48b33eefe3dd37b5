//! `m2v._m2v`: the extension module of the `m2v` Python package.
//!
//! A thin binding of [`m2v_static`]: loading (folders and hub ids, through
//! [`m2v_static::hub`]), encoding, tokenizing, saving, and trained pipelines. The
//! model2vec-compatible surface (argument names, defaults, single-string inputs, numpy
//! dtypes of labels) is the pure-Python layer in `python/m2v/`, which calls this.
//!
//! Invariants:
//! - Every call that reads files or encodes releases the GIL ([`Python::detach`]), so
//!   other Python threads run meanwhile; encoding is spread over all cores by
//!   [`m2v_static::StaticModel::encode_with`].
//! - The arrays returned are the library's output moved into numpy without a copy
//!   ([`IntoPyArray`]): `encode` gives exactly `encode_with`'s bits.
//! - Errors are Python exceptions carrying the library's message (which names the
//!   file and the problem): `FileNotFoundError` for a missing model, `OSError` for a
//!   failed download or unreadable file, `ValueError` for a malformed model or a bad
//!   option. Nothing panics across the boundary (pyo3 would raise `PanicException`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::path::PathBuf;

use m2v_static::{
    Dtype, EncodeOptions, Error, Label, LoadOptions, Pipeline, Prediction, StaticModel,
};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods};
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

/// The library's error as the Python exception a model2vec user would expect.
fn py_err(e: Error) -> PyErr {
    let msg = e.to_string();
    match e {
        Error::NotFound { .. } | Error::NotCached { .. } | Error::NoLayout { .. } => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { ref source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            PyFileNotFoundError::new_err(msg)
        }
        Error::Io { .. } | Error::File { .. } | Error::Download { .. } | Error::Output { .. } => {
            PyOSError::new_err(msg)
        }
        _ => PyValueError::new_err(msg),
    }
}

/// Rows of `rows × dim` floats as a numpy `float32` array of that shape, without a copy.
fn matrix<'py>(
    py: Python<'py>,
    data: Vec<f32>,
    rows: usize,
    dim: usize,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    data.into_pyarray(py).reshape([rows, dim])
}

/// A loaded static model (`m2v.StaticModel` wraps it).
#[pyclass(module = "m2v._m2v", name = "Model", frozen)]
struct Model {
    inner: StaticModel,
}

#[pymethods]
impl Model {
    /// Loads a folder or a hub id (`ORG/NAME[@REVISION]`, from the Hugging Face cache,
    /// downloaded there when missing unless `HF_HUB_OFFLINE=1`).
    #[staticmethod]
    #[pyo3(signature = (path, token=None, normalize=None, dimensionality=None, quantize_to=None))]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        token: Option<String>,
        normalize: Option<bool>,
        dimensionality: Option<usize>,
        quantize_to: Option<String>,
    ) -> PyResult<Model> {
        let mut opts = LoadOptions::new();
        if let Some(n) = normalize {
            opts = opts.normalize(n);
        }
        if let Some(d) = dimensionality {
            opts = opts.dimensionality(d);
        }
        if let Some(q) = quantize_to {
            let dtype: Dtype = q.parse().map_err(PyValueError::new_err)?;
            opts = opts.dtype(dtype);
        }
        py.detach(|| {
            let dir = m2v_static::hub::resolve_with_token(&path, token.as_deref())?;
            StaticModel::load(dir, &opts)
        })
        .map(|inner| Model { inner })
        .map_err(py_err)
    }

    /// The embedding dimension.
    #[getter]
    fn dim(&self) -> usize {
        self.inner.dim()
    }

    /// The config's `normalize` (after the load option).
    #[getter]
    fn normalize(&self) -> bool {
        self.inner.normalize()
    }

    /// The config's `max_length` (`None`: no truncation).
    #[getter]
    fn max_length(&self) -> Option<usize> {
        self.inner.max_length()
    }

    /// The median token length in characters (texts are cut to `max_length` times it).
    #[getter]
    fn median_token_length(&self) -> usize {
        self.inner.median_token_length()
    }

    /// The vocabulary, in id order.
    #[getter]
    fn tokens(&self) -> Vec<&str> {
        self.inner.tokens()
    }

    /// The dtype the embedding matrix is held in (after `quantize_to`), numpy's name
    /// (`float32`, `float16`, ...).
    #[getter]
    fn embedding_dtype(&self) -> &'static str {
        self.inner.dtype().numpy_name()
    }

    /// The embedding matrix as used (after `quantize_to` and `dimensionality`): its
    /// little-endian bytes, numpy's dtype name, and its shape.
    fn embedding<'py>(
        &self,
        py: Python<'py>,
    ) -> (Bound<'py, PyBytes>, &'static str, (usize, usize)) {
        let t = py.detach(|| self.inner.embedding_tensor());
        let shape = (t.shape[0], t.shape[1]);
        (PyBytes::new(py, &t.bytes), t.dtype.numpy_name(), shape)
    }

    /// The model's folder, when it was loaded from one.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.inner.dir().map(PathBuf::from)
    }

    /// Mean-pooled embeddings, `float32 [len(texts), dim]`. `max_length=None` means no
    /// truncation; `threads=0` uses every core.
    #[pyo3(signature = (texts, max_length, normalize, batch_size=1024, threads=0))]
    fn encode<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        max_length: Option<usize>,
        normalize: bool,
        batch_size: usize,
        threads: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let opts = EncodeOptions::new()
            .max_length(max_length)
            .normalize(normalize)
            .batch_size(batch_size.max(1))
            .threads(threads);
        let dim = self.inner.dim();
        let out = py.detach(|| self.inner.encode_with(&texts, &opts));
        let rows = out.rows();
        matrix(py, out.into_vec(), rows, dim)
    }

    /// One `float32 [tokens, dim]` array of token rows per text.
    #[pyo3(signature = (texts, max_length=None))]
    fn encode_as_sequence<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        max_length: Option<usize>,
    ) -> PyResult<Vec<Bound<'py, PyArray2<f32>>>> {
        let dim = self.inner.dim();
        let out = py.detach(|| self.inner.encode_as_sequence(&texts, max_length));
        out.into_iter()
            .map(|e| {
                let rows = e.rows();
                matrix(py, e.into_vec(), rows, dim)
            })
            .collect()
    }

    /// Token ids per text (no special tokens, unknown tokens dropped), truncated to
    /// `max_length` tokens when given, the text not cut first (Python's `tokenize`).
    #[pyo3(signature = (texts, max_length=None))]
    fn tokenize(
        &self,
        py: Python<'_>,
        texts: Vec<String>,
        max_length: Option<usize>,
    ) -> Vec<Vec<u32>> {
        py.detach(|| {
            texts
                .iter()
                .map(|t| self.inner.tokenize_like_python(t, max_length))
                .collect()
        })
    }

    /// Saves the model as a model2vec folder (atomically); returns the folder.
    fn save_pretrained(&self, py: Python<'_>, path: PathBuf) -> PyResult<PathBuf> {
        py.detach(|| self.inner.save_pretrained(&path))
            .map_err(py_err)
    }
}

/// A trained pipeline: a model and its MLP head (`m2v.StaticModelPipeline` wraps it).
#[pyclass(module = "m2v._m2v", name = "Pipeline", frozen)]
struct PyPipeline {
    inner: Pipeline,
}

#[pymethods]
impl PyPipeline {
    /// Loads a pipeline folder (or a cached hub id), as model2vec's
    /// `StaticModelPipeline.from_pretrained`.
    #[staticmethod]
    #[pyo3(signature = (path, token=None))]
    fn load(py: Python<'_>, path: PathBuf, token: Option<String>) -> PyResult<PyPipeline> {
        py.detach(|| {
            let dir = m2v_static::hub::resolve_with_token(&path, token.as_deref())?;
            Pipeline::from_pretrained(dir)
        })
        .map(|inner| PyPipeline { inner })
        .map_err(py_err)
    }

    /// `softmax`, `sigmoid` or `identity`.
    #[getter]
    fn activation(&self) -> &'static str {
        self.inner.head().activation().name()
    }

    /// The class labels (ints or strings), `None` for a regression head.
    #[getter]
    fn classes<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        self.inner
            .head()
            .classes()
            .map(|c| labels(py, c))
            .transpose()
    }

    /// The model's folder.
    #[getter]
    fn path(&self) -> Option<PathBuf> {
        self.inner.model().dir().map(PathBuf::from)
    }

    /// The model's `max_length`.
    #[getter]
    fn max_length(&self) -> Option<usize> {
        self.inner.model().max_length()
    }

    /// Probabilities (softmax or sigmoid), `float32 [len(texts), classes]`; an identity
    /// head raises `ValueError`.
    #[pyo3(signature = (texts, max_length, batch_size=1024))]
    fn predict_proba<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        max_length: Option<usize>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let opts = EncodeOptions::new()
            .max_length(max_length)
            .batch_size(batch_size.max(1));
        let out = py
            .detach(|| self.inner.predict_proba(&texts, &opts))
            .map_err(py_err)?;
        let (rows, dim) = (out.rows(), out.dim());
        matrix(py, out.into_vec(), rows, dim)
    }

    /// Predictions: a label per text (softmax), a list of labels per text (sigmoid,
    /// probability above `threshold`), or a `float32` row per text (identity).
    #[pyo3(signature = (texts, max_length, batch_size=1024, threshold=0.5))]
    fn predict<'py>(
        &self,
        py: Python<'py>,
        texts: Vec<String>,
        max_length: Option<usize>,
        batch_size: usize,
        threshold: f32,
    ) -> PyResult<Vec<Bound<'py, PyAny>>> {
        let opts = EncodeOptions::new()
            .max_length(max_length)
            .batch_size(batch_size.max(1));
        let out = py.detach(|| self.inner.predict(&texts, &opts, threshold));
        out.into_iter()
            .map(|p| match p {
                Prediction::Class(l) => label(py, &l),
                Prediction::Classes(ls) => Ok(labels(py, &ls)?.into_any()),
                Prediction::Values(v) => Ok(PyArray1::from_vec(py, v).into_any()),
            })
            .collect()
    }
}

fn label<'py>(py: Python<'py>, l: &Label) -> PyResult<Bound<'py, PyAny>> {
    match l {
        Label::Int(i) => Ok(i.into_pyobject(py)?.into_any()),
        Label::Str(s) => Ok(s.into_pyobject(py)?.into_any()),
    }
}

fn labels<'py>(py: Python<'py>, ls: &[Label]) -> PyResult<Bound<'py, PyList>> {
    let items = ls
        .iter()
        .map(|l| label(py, l))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// The module: `Model`, `Pipeline`, and the library's kernel level (`avx512`, ...).
#[pymodule]
fn _m2v(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Model>()?;
    m.add_class::<PyPipeline>()?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("kernel_level", format!("{:?}", m2v_static::kernel_level()))?;
    Ok(())
}
