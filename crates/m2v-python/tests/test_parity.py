"""m2v against model2vec 0.10 on the same models and texts.

Tolerances: float32 models (potion-base-8M, our float32 distillation) must give
identical arrays (``np.array_equal``). Models stored in float16 are returned as float32
by m2v, while model2vec returns float16: it rounds the mean to float16, and, when
normalizing, normalizes that rounded mean and rounds again. So each value may differ
by two roundings and the rounded norm's error: at most 2 float16 steps (ulps) of
model2vec's value, checked as ``|ours - theirs| <= 2 * spacing_f16(theirs)``
(measured on potion-base-8M at float16: at most 0.5 steps unnormalized, 1.45
normalized). The vocabulary-quantized int8 tokenlearn model is summed in float32 in
both, in the same order: identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from model2vec import StaticModel as Reference

from m2v import StaticModel


def f16_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.dtype == np.float32 and theirs.dtype == np.float16
    ref = theirs.astype(np.float32)
    steps = np.abs(ours - ref) / np.spacing(np.abs(theirs)).astype(np.float32)
    assert steps.max() <= 2, f"{steps.max()} float16 steps apart"


def check_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    if theirs.dtype == np.float16:
        f16_close(ours, theirs)
    else:
        assert ours.dtype == np.float32
        assert ours.shape == theirs.shape
        assert np.array_equal(ours, theirs), f"max diff {np.abs(ours - theirs).max()}"


def models(request: pytest.FixtureRequest, which: str) -> str:
    if which.startswith("distilled-"):
        return request.getfixturevalue("distilled")[which.split("-", 1)[1]]
    return request.getfixturevalue(which)


MODELS = ["potion", "tokenlearn", "distilled-float32", "distilled-float16"]


@pytest.mark.parametrize("which", MODELS)
def test_encode_matches_model2vec(request: pytest.FixtureRequest, which: str, sentences: list[str]) -> None:
    path = models(request, which)
    ours, theirs = StaticModel.from_pretrained(path), Reference.from_pretrained(path)
    assert ours.dim == theirs.dim
    assert ours.normalize == theirs.normalize
    assert ours.max_length == theirs.max_length
    assert ours.tokens == tuple(theirs.tokens)
    assert ours.median_token_length == theirs.median_token_length
    assert ours.embedding_dtype == theirs.embedding_dtype
    check_same(ours.encode(sentences), theirs.encode(sentences))
    for opts in ({"normalize": False}, {"normalize": True}, {"max_length": 8}, {"max_length": None}):
        check_same(ours.encode(sentences, **opts), theirs.encode(sentences, **opts))
    # One string gives one vector.
    check_same(ours.encode(sentences[0]), theirs.encode(sentences[0]))
    assert ours.encode(sentences[0]).shape == (ours.dim,)


@pytest.mark.parametrize("which", MODELS)
def test_tokenize_and_sequences_match_model2vec(
    request: pytest.FixtureRequest, which: str, sentences: list[str]
) -> None:
    path = models(request, which)
    ours, theirs = StaticModel.from_pretrained(path), Reference.from_pretrained(path)
    assert ours.tokenize(sentences) == theirs.tokenize(sentences)
    long = [" ".join(sentences)]
    assert ours.tokenize(long) == theirs.tokenize(long), "truncated to max_length tokens"
    for max_length in (None, 5):
        a = ours.encode_as_sequence(sentences, max_length=max_length)
        b = theirs.encode_as_sequence(sentences, max_length=max_length)
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x.shape == y.shape
            if y.size:
                check_same(x, y)


def test_load_options_match_model2vec(potion: str, sentences: list[str]) -> None:
    for kwargs in (
        {"normalize": False},
        {"dimensionality": 64},
        {"max_length": 4},
        {"max_length": None},
    ):
        ours = StaticModel.from_pretrained(potion, **kwargs)
        theirs = Reference.from_pretrained(potion, **kwargs)
        assert ours.dim == theirs.dim and ours.max_length == theirs.max_length, kwargs
        check_same(ours.encode(sentences), theirs.encode(sentences))
    ours = StaticModel.from_pretrained(potion, quantize_to="float16")
    theirs = Reference.from_pretrained(potion, quantize_to="float16")
    assert ours.embedding_dtype == theirs.embedding_dtype == "float16"
    check_same(ours.encode(sentences), theirs.encode(sentences))


def test_embedding_matrix_is_the_one_used(potion: str, tokenlearn: str) -> None:
    for path, kwargs in (
        (potion, {}),
        (tokenlearn, {}),
        (potion, {"dimensionality": 64}),
        (potion, {"quantize_to": "float16"}),
    ):
        ours = StaticModel.from_pretrained(path, **kwargs)
        theirs = Reference.from_pretrained(path, **kwargs)
        assert ours.embedding.dtype == theirs.embedding.dtype, kwargs
        assert ours.embedding.shape == theirs.embedding.shape, kwargs
        assert np.array_equal(ours.embedding, theirs.embedding), kwargs
        assert ours.embedding.flags["WRITEABLE"]


def test_setting_normalize_and_max_length_applies_to_encode(potion: str, sentences: list[str]) -> None:
    ours, theirs = StaticModel.from_pretrained(potion), Reference.from_pretrained(potion)
    ours.normalize = theirs.normalize = False
    ours.max_length = theirs.max_length = 6
    check_same(ours.encode(sentences), theirs.encode(sentences))
    assert ours.config["normalize"] is False and ours.config["max_length"] == 6


def test_saved_model_loads_in_model2vec(potion: str, tmp_path, sentences: list[str]) -> None:
    ours = StaticModel.from_pretrained(potion, dimensionality=128)
    ours.save_pretrained(tmp_path / "saved")
    theirs = Reference.from_pretrained(tmp_path / "saved")
    check_same(ours.encode(sentences), theirs.encode(sentences))
