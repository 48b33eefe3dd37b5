"""``m2v.StaticModel``: model2vec 0.10's ``StaticModel`` inference API over the Rust core."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence, Union, overload

import numpy as np

from m2v import _m2v

PathLike = Union[str, "os.PathLike[str]"]

class _Unset:
    """The default of ``max_length``: "not passed" (``None`` means no truncation)."""

    def __repr__(self) -> str:
        return "<unset>"


_UNSET: Any = _Unset()


def _texts(sentences: Union[str, Sequence[str]]) -> tuple[list[str], bool]:
    """The texts as a list, and whether a single string was passed."""
    if isinstance(sentences, str):
        return [sentences], True
    if isinstance(sentences, list):
        return sentences, False
    return list(sentences), False


def _chunks(texts: list[str], size: int, show: bool, total: int) -> Iterator[list[str]]:
    """``texts`` in one piece, or in chunks under a tqdm bar when one is asked for."""
    if not show:
        yield texts
        return
    from tqdm import tqdm  # model2vec's own dependency; only needed for the bar

    with tqdm(total=total, unit="text") as bar:
        for i in range(0, len(texts), size):
            chunk = texts[i : i + size]
            yield chunk
            bar.update(len(chunk))


class StaticModel:
    """A static embedding model: mean of token vectors, computed in Rust.

    Load with :meth:`from_pretrained` (a folder, or a hub id such as
    ``"minishlab/potion-base-8M"``); encode with :meth:`encode`.
    """

    def __init__(self, model: _m2v.Model, max_length: Any = _UNSET, normalize: Optional[bool] = None) -> None:
        """Wrap a loaded ``m2v._m2v.Model`` (use :meth:`from_pretrained` instead)."""
        self._model = model
        self._normalize = model.normalize if normalize is None else bool(normalize)
        self._max_length: Optional[int] = model.max_length if isinstance(max_length, _Unset) else max_length
        self._embedding: Optional[np.ndarray] = None
        self._config: Optional[dict[str, Any]] = None
        self._tokens: Optional[tuple[str, ...]] = None

    @classmethod
    def from_pretrained(
        cls,
        path: PathLike,
        token: Optional[str] = None,
        normalize: Optional[bool] = None,
        subfolder: Optional[str] = None,
        quantize_to: Any = None,
        dimensionality: Optional[int] = None,
        vocabulary_quantization: Optional[int] = None,
        max_length: Any = _UNSET,
        force_download: bool = True,
    ) -> "StaticModel":
        """Load a model from a folder or a Hugging Face hub id.

        :param path: A model folder (model2vec or sentence-transformers layout), or a hub
            id ``ORG/NAME[@REVISION]``, read from the Hugging Face cache and downloaded
            into it when missing (unless ``HF_HUB_OFFLINE=1``).
        :param token: A Hugging Face token for private models (else ``HF_TOKEN``).
        :param normalize: Whether ``encode`` normalizes; default: the model's config.
        :param subfolder: A folder inside ``path`` holding the model (local folders).
        :param quantize_to: Store the matrix as this dtype (``"float16"``, ``"int8"``...).
        :param dimensionality: Keep the first this many dimensions (PCA/MRL models).
        :param vocabulary_quantization: Not supported here (use ``m2v-cli distill``).
        :param max_length: The default token limit of ``encode``; default: the config's.
        :param force_download: Accepted for compatibility; a complete cached model is used.
        :return: The model.
        :raises FileNotFoundError: The folder or hub id does not exist or is not cached
            while offline.
        :raises ValueError: The model files are malformed, or an option does not apply.
        """
        del force_download
        if vocabulary_quantization is not None:
            raise NotImplementedError(
                "vocabulary_quantization at load time is not supported by m2v; "
                "quantize when distilling (m2v-cli distill --vocabulary-quantization)"
            )
        location = os.fspath(path)
        if subfolder:
            if not os.path.isdir(location):
                raise NotImplementedError(
                    "subfolder is only supported for local folders in m2v; "
                    "download the repository and pass its folder"
                )
            location = os.path.join(location, subfolder)
        if quantize_to is not None:
            quantize_to = str(getattr(quantize_to, "value", quantize_to))
        model = _m2v.Model.load(
            location,
            token=token,
            normalize=normalize,
            dimensionality=dimensionality,
            quantize_to=quantize_to,
        )
        return cls(model, max_length=max_length)

    @property
    def dim(self) -> int:
        """The embedding dimension."""
        return self._model.dim

    @property
    def normalize(self) -> bool:
        """Whether :meth:`encode` normalizes by default."""
        return self._normalize

    @normalize.setter
    def normalize(self, value: bool) -> None:
        self._normalize = bool(value)

    @property
    def max_length(self) -> Optional[int]:
        """The default token limit of :meth:`encode` (``None``: no truncation)."""
        return self._max_length

    @max_length.setter
    def max_length(self, value: Optional[int]) -> None:
        self._max_length = value

    @property
    def tokens(self) -> tuple[str, ...]:
        """The vocabulary, in id order (built on first use)."""
        if self._tokens is None:
            self._tokens = tuple(self._model.tokens)
        return self._tokens

    @property
    def median_token_length(self) -> int:
        """The median token length in characters."""
        return self._model.median_token_length

    @property
    def embedding_dtype(self) -> str:
        """The stored dtype of the embedding matrix (numpy's name)."""
        return self._model.embedding_dtype

    @property
    def config(self) -> dict[str, Any]:
        """The model's ``config.json``, with ``normalize`` and ``max_length`` as set here."""
        if self._config is None:
            folder = self._model.path
            cfg: dict[str, Any] = {}
            if folder is not None and os.path.isfile(os.path.join(folder, "config.json")):
                with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
                    cfg = json.load(f)
            self._config = cfg
        self._config["normalize"] = self._normalize
        self._config["max_length"] = self._max_length
        return self._config

    @property
    def embedding(self) -> np.ndarray:
        """The embedding matrix as used (after ``quantize_to`` and ``dimensionality``),
        copied out of the Rust model on first use."""
        if self._embedding is None:
            data, dtype, shape = self._model.embedding()
            if dtype == "bfloat16":
                raise ValueError("numpy has no bfloat16: load the model with quantize_to='float32'")
            # A writable copy, as model2vec's attribute is.
            self._embedding = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()
        return self._embedding

    @overload
    def encode(self, sentences: str, **kwargs: Any) -> np.ndarray: ...

    @overload
    def encode(self, sentences: Sequence[str], **kwargs: Any) -> np.ndarray: ...

    def encode(
        self,
        sentences: Union[str, Sequence[str]],
        *,
        show_progress_bar: bool = False,
        max_length: Any = _UNSET,
        normalize: Optional[bool] = None,
        batch_size: int = 1024,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
        **kwargs: Any,
    ) -> np.ndarray:
        """Encode sentences as the mean of their token vectors.

        :param sentences: A list (or any sequence) of sentences, or one sentence.
        :param show_progress_bar: Show a tqdm progress bar.
        :param max_length: Token limit; ``None`` for none; default: the model's.
        :param normalize: L2-normalize; default: the model's.
        :param batch_size: Texts per unit of work handed to a thread.
        :param use_multiprocessing: ``False`` encodes on one thread.
        :param multiprocessing_threshold: Accepted for compatibility (threads are
            always used for more than one batch).
        :param kwargs: Ignored, as in model2vec.
        :return: ``float32 [len(sentences), dim]``, or ``[dim]`` for one sentence.
        """
        del multiprocessing_threshold, kwargs
        texts, single = _texts(sentences)
        if isinstance(max_length, _Unset):
            max_length = self._max_length
        norm = self._normalize if normalize is None else bool(normalize)
        threads = 0 if use_multiprocessing else 1
        parts = [
            self._model.encode(chunk, max_length, norm, batch_size, threads)
            for chunk in _chunks(texts, max(batch_size, 1) * 16, show_progress_bar, len(texts))
        ]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
        return out[0] if single else out

    @overload
    def encode_as_sequence(self, sentences: str, **kwargs: Any) -> np.ndarray: ...

    @overload
    def encode_as_sequence(self, sentences: Sequence[str], **kwargs: Any) -> list[np.ndarray]: ...

    def encode_as_sequence(
        self,
        sentences: Union[str, Sequence[str]],
        *,
        max_length: Optional[int] = None,
        batch_size: int = 1024,
        show_progress_bar: bool = False,
        use_multiprocessing: bool = True,
        multiprocessing_threshold: int = 10_000,
    ) -> Union[np.ndarray, list[np.ndarray]]:
        """Encode sentences as one ``[tokens, dim]`` array of token vectors each.

        Unlike :meth:`encode`, the model's ``max_length`` is not applied: truncation
        happens only when ``max_length`` is passed here (as in model2vec).
        """
        del batch_size, use_multiprocessing, multiprocessing_threshold
        texts, single = _texts(sentences)
        out: list[np.ndarray] = []
        for chunk in _chunks(texts, 16_384, show_progress_bar, len(texts)):
            out.extend(self._model.encode_as_sequence(chunk, max_length))
        return out[0] if single else out

    def tokenize(self, sentences: Sequence[str]) -> list[list[int]]:
        """Token ids per sentence: no special tokens, unknown tokens dropped, truncated
        to the model's ``max_length`` tokens."""
        texts, _ = _texts(sentences)
        return self._model.tokenize(texts, self._max_length)

    def save_pretrained(self, path: PathLike, model_name: Optional[str] = None, subfolder: Optional[str] = None) -> None:
        """Save the model as a model2vec folder (written to a temporary folder and renamed)."""
        del model_name
        target = Path(path) / subfolder if subfolder else Path(path)
        self._model.save_pretrained(os.fspath(target))

    def push_to_hub(self, *args: Any, **kwargs: Any) -> None:
        """Not available from Python here: use ``m2v-cli push``."""
        raise NotImplementedError("use `m2v-cli push FOLDER ORG/NAME` to upload a model")

    def __repr__(self) -> str:
        return f"StaticModel(dim={self.dim}, vocab={len(self.tokens)}, path={self._model.path!r})"

