"""The training stream: what it draws, and that the compiled engine draws the same numbers."""

import numpy as np
import pytest
from scipy import stats

from skreg._engines import compiled_engine
from skreg._random import (
    dropout_words,
    keep_threshold,
    set_sfc64_state,
    sfc64_state,
    standard_normals,
    training_stream,
)

needs_compiled = pytest.mark.skipif(
    compiled_engine() is None, reason="the compiled engine is not built"
)


def stream(seed):
    return training_stream(np.random.RandomState(seed))


def test_the_stream_is_seeded_by_the_random_state():
    assert np.array_equal(stream(0).random(5), stream(0).random(5))
    assert not np.array_equal(stream(0).random(5), stream(1).random(5))


def test_dropout_words_are_the_halves_of_the_raw_outputs_low_first():
    raw = [int(r) for r in stream(3).bit_generator.random_raw(3)]
    words = dropout_words(stream(3), 5)
    expected = [raw[0] & 0xFFFFFFFF, raw[0] >> 32, raw[1] & 0xFFFFFFFF, raw[1] >> 32, raw[2]]
    np.testing.assert_array_equal(words[:4], np.array(expected[:4], dtype=np.uint64))
    assert words[4] == raw[2] & 0xFFFFFFFF


@pytest.mark.parametrize("keep_prob", [1e-9, 0.3, 0.86, 1 - 1e-12])
def test_keep_threshold_keeps_the_share_keep_prob(keep_prob):
    threshold = int(keep_threshold(keep_prob))
    assert abs(threshold / 2**32 - keep_prob) <= 2**-32
    words = dropout_words(stream(0), 200_000)
    share = np.mean(words < keep_threshold(keep_prob))
    assert abs(share - keep_prob) < 5 * np.sqrt(keep_prob * (1 - keep_prob) / words.size) + 1e-9


@pytest.mark.parametrize("seed", range(5))
def test_standard_normals_are_standard_normal(seed):
    z = standard_normals(stream(seed), (50_000,))
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02


def test_standard_normals_advance_the_stream_by_what_they_use():
    """Drawing n normals in one call or in two leaves the stream in the same state, whatever
    the rejections (the NumPy side rewinds what it drew in bulk beyond the outputs it used)."""
    whole, parts = stream(7), stream(7)
    z = standard_normals(whole, (1000,))
    z_parts = np.concatenate([standard_normals(parts, (400,)), standard_normals(parts, (600,))])
    np.testing.assert_array_equal(z, z_parts)
    np.testing.assert_array_equal(whole.random(3), parts.random(3))


@needs_compiled
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n", [1, 2, 3, 101, 4096])
def test_the_compiled_engine_draws_the_same_numbers(seed, n):
    from skreg._compiled._random import draw_normals, draw_words

    numpy_side, compiled_side = stream(seed), stream(seed)
    words = dropout_words(numpy_side, n)
    normals = standard_normals(numpy_side, (n,))

    state = sfc64_state(compiled_side)
    compiled_words = draw_words(state, n)
    compiled_normals = draw_normals(state, n)
    set_sfc64_state(compiled_side, state)

    np.testing.assert_array_equal(compiled_words, words)
    # (np.log and math.log may differ in the last bit)
    np.testing.assert_allclose(compiled_normals, normals, rtol=1e-14, atol=1e-15)
    np.testing.assert_array_equal(compiled_side.random(4), numpy_side.random(4))
