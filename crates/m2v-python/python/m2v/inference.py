"""``m2v.inference.StaticModelPipeline``: model2vec 0.10's trained-pipeline inference."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from m2v import _m2v
from m2v.model import _UNSET, PathLike, StaticModel, _texts, _Unset


class StaticModelPipeline:
    """A static model and a trained MLP head (``head.safetensors``), as saved by
    ``m2v-cli train`` or model2vec's ``StaticModelPipeline.save_pretrained``."""

    def __init__(self, pipeline: _m2v.Pipeline) -> None:
        """Wrap a loaded ``m2v._m2v.Pipeline`` (use :meth:`from_pretrained` instead)."""
        self._pipeline = pipeline
        classes = pipeline.classes
        self.classes_: Optional[np.ndarray] = None if classes is None else np.array(classes)
        self._model: Optional[StaticModel] = None

    @classmethod
    def from_pretrained(cls, path: PathLike, token: Optional[str] = None) -> "StaticModelPipeline":
        """Load a pipeline folder (or a hub id in the Hugging Face cache).

        :raises FileNotFoundError: No such folder or cached hub id.
        :raises ValueError: A malformed model or head.
        """
        import os

        return cls(_m2v.Pipeline.load(os.fspath(path), token=token))

    @property
    def model(self) -> StaticModel:
        """The pipeline's static model (loaded again from its folder on first use)."""
        if self._model is None:
            folder = self._pipeline.path
            if folder is None:
                raise ValueError("this pipeline was not loaded from a folder")
            self._model = StaticModel.from_pretrained(folder)
        return self._model

    def _max_length(self, max_length: Any) -> Optional[int]:
        return self._pipeline.max_length if isinstance(max_length, _Unset) else max_length

    def predict(
        self,
        X: Union[str, Sequence[str]],
        show_progress_bar: bool = False,
        max_length: Any = _UNSET,
        batch_size: int = 1024,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
        threshold: float = 0.5,
    ) -> np.ndarray:
        """Predict: the most likely label per text (softmax head), an array of the labels
        whose probability is above ``threshold`` per text (sigmoid head, an object
        array), or the head's outputs (identity head, ``float32 [n, out]``)."""
        del show_progress_bar, use_multiprocessing, multiprocessing_threshold
        texts, _ = _texts(X)
        out = self._pipeline.predict(texts, self._max_length(max_length), batch_size, threshold)
        activation = self._pipeline.activation
        if activation == "identity":
            if not out:
                return np.zeros((0, 0), dtype=np.float32)
            return np.stack(out).astype(np.float32, copy=False)
        assert self.classes_ is not None
        dtype = self.classes_.dtype
        if activation == "sigmoid":
            return np.asarray([np.asarray(labels, dtype=dtype) for labels in out], dtype=object)
        return np.asarray(out, dtype=dtype)

    def predict_proba(
        self,
        X: Union[str, Sequence[str]],
        show_progress_bar: bool = False,
        max_length: Any = _UNSET,
        batch_size: int = 1024,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
    ) -> np.ndarray:
        """Class probabilities, ``float32 [n, classes]`` (softmax or sigmoid).

        :raises ValueError: The head is a regression/projection head (identity).
        """
        del show_progress_bar, use_multiprocessing, multiprocessing_threshold
        texts, _ = _texts(X)
        return self._pipeline.predict_proba(texts, self._max_length(max_length), batch_size)

    def __repr__(self) -> str:
        return f"StaticModelPipeline(activation={self._pipeline.activation!r}, classes={self._pipeline.classes!r})"
