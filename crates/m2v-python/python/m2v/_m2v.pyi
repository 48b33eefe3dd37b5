"""Type stubs of the extension module (crates/m2v-python/src/lib.rs)."""

from os import PathLike
from pathlib import Path
from typing import Optional, Union

import numpy as np
import numpy.typing as npt

__version__: str
kernel_level: str

class Model:
    @staticmethod
    def load(
        path: Union[str, PathLike[str]],
        token: Optional[str] = None,
        normalize: Optional[bool] = None,
        dimensionality: Optional[int] = None,
        quantize_to: Optional[str] = None,
    ) -> Model: ...
    @property
    def dim(self) -> int: ...
    @property
    def normalize(self) -> bool: ...
    @property
    def max_length(self) -> Optional[int]: ...
    @property
    def median_token_length(self) -> int: ...
    @property
    def tokens(self) -> list[str]: ...
    @property
    def embedding_dtype(self) -> str: ...
    @property
    def path(self) -> Optional[Path]: ...
    def embedding(self) -> tuple[bytes, str, tuple[int, int]]: ...
    def encode(
        self,
        texts: list[str],
        max_length: Optional[int],
        normalize: bool,
        batch_size: int = 1024,
        threads: int = 0,
    ) -> npt.NDArray[np.float32]: ...
    def encode_as_sequence(
        self, texts: list[str], max_length: Optional[int] = None
    ) -> list[npt.NDArray[np.float32]]: ...
    def tokenize(self, texts: list[str], max_length: Optional[int] = None) -> list[list[int]]: ...
    def save_pretrained(self, path: Union[str, PathLike[str]]) -> Path: ...

class Pipeline:
    @staticmethod
    def load(path: Union[str, PathLike[str]], token: Optional[str] = None) -> Pipeline: ...
    @property
    def activation(self) -> str: ...
    @property
    def classes(self) -> Optional[list[Union[int, str]]]: ...
    @property
    def path(self) -> Optional[Path]: ...
    @property
    def max_length(self) -> Optional[int]: ...
    def predict_proba(
        self, texts: list[str], max_length: Optional[int], batch_size: int = 1024
    ) -> npt.NDArray[np.float32]: ...
    def predict(
        self,
        texts: list[str],
        max_length: Optional[int],
        batch_size: int = 1024,
        threshold: float = 0.5,
    ) -> list[object]: ...
