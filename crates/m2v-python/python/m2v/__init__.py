"""m2v: model2vec static embeddings, computed in Rust.

A drop-in for Python ``model2vec`` 0.10's inference API: replace

    from model2vec import StaticModel
    from model2vec.inference import StaticModelPipeline

with

    from m2v import StaticModel
    from m2v.inference import StaticModelPipeline

Same argument names and defaults, same numbers (identical arrays for float32 models;
see the package README for the differences). Encoding runs in Rust on every core with
the GIL released.
"""

from m2v._m2v import __version__, kernel_level
from m2v.inference import StaticModelPipeline
from m2v.model import StaticModel

__all__ = ["StaticModel", "StaticModelPipeline", "__version__", "kernel_level"]
