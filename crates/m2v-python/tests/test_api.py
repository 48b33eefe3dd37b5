"""Behaviour that is ours: errors, threads, the GIL, inputs of any sequence type."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import m2v
from m2v import StaticModel
from m2v.inference import StaticModelPipeline


def test_missing_model_is_file_not_found(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder"):
        StaticModel.from_pretrained(tmp_path / "absent")
    with pytest.raises(FileNotFoundError):
        StaticModelPipeline.from_pretrained(tmp_path / "absent")


def test_malformed_model_names_the_file(potion: str, tmp_path) -> None:
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(potion, broken)
    data = (broken / "model.safetensors").read_bytes()
    (broken / "model.safetensors").unlink()
    (broken / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="model.safetensors"):
        StaticModel.from_pretrained(broken)
    (broken / "tokenizer.json").unlink()
    (broken / "tokenizer.json").write_text("{not json")
    with pytest.raises(ValueError, match="tokenizer"):
        StaticModel.from_pretrained(broken)


def test_bad_options_are_value_errors(potion: str) -> None:
    with pytest.raises(ValueError, match="dimensionality"):
        StaticModel.from_pretrained(potion, dimensionality=100_000)
    with pytest.raises(ValueError):
        StaticModel.from_pretrained(potion, quantize_to="float7")
    with pytest.raises(NotImplementedError):
        StaticModel.from_pretrained(potion, vocabulary_quantization=16)


def test_texts_of_any_sequence_type(potion: str, sentences: list[str]) -> None:
    model = StaticModel.from_pretrained(potion)
    want = model.encode(sentences)
    assert np.array_equal(model.encode(tuple(sentences)), want)
    assert np.array_equal(model.encode(np.array(sentences)), want)
    assert model.encode([]).shape == (0, model.dim)
    with pytest.raises(TypeError):
        model.encode([1, 2, 3])  # type: ignore[list-item]


def test_threads_batches_and_chunks_give_the_same_bits(potion: str, sentences: list[str]) -> None:
    model = StaticModel.from_pretrained(potion)
    many = sentences * 50
    want = model.encode(many)
    assert np.array_equal(model.encode(many, use_multiprocessing=False), want)
    assert np.array_equal(model.encode(many, batch_size=7), want)
    assert np.array_equal(model.encode(many, show_progress_bar=True, batch_size=64), want)
    assert want.flags["C_CONTIGUOUS"] and want.flags["WRITEABLE"]


def test_encoding_releases_the_gil(potion: str, sentences: list[str]) -> None:
    """Another Python thread keeps running while a long encode call is in Rust."""
    model = StaticModel.from_pretrained(potion)
    many = sentences * 2000  # ~400k texts
    ticks = []
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.01)
    start = time.perf_counter()
    model.encode(many)
    end = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if start < x < end]
    # With the GIL held for the whole call the thread could not tick at all.
    assert end - start > 0.05, "the call was too short to tell"
    assert len(during) >= 5, f"{len(during)} ticks in {end - start:.3f} s"


def test_module_metadata() -> None:
    assert m2v.__version__
    assert m2v.kernel_level
