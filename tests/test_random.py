"""The training stream: what it draws, and that the compiled engine draws the same numbers."""

import importlib

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import skreg._estimator
from skreg import RegularizedMLPClassifier
from skreg._random import (
    DROPOUT_LANES,
    dropout_words,
    keep_threshold,
    lane_states,
    set_lane_states,
    set_sfc64_state,
    sfc64_state,
    standard_normals,
    training_stream,
)


def stream(seed):
    return training_stream(np.random.RandomState(seed))


def test_the_stream_is_seeded_by_the_random_state():
    assert np.array_equal(stream(0).random(5), stream(0).random(5))
    assert not np.array_equal(stream(0).random(5), stream(1).random(5))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")  # 3 noisy epochs
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("continuation", ["partial_fit", "warm_start"])
def test_each_continued_fit_draws_a_new_stream_and_the_same_calls_the_same_ones(
    seed, continuation, monkeypatch
):
    """partial_fit and warm_start seed every call's stream anew (else each call would replay
    the previous call's dropout masks and noise), and the same calls draw the same streams."""
    X, y = np.random.RandomState(seed).standard_normal((30, 3)), np.arange(30) % 2
    model = RegularizedMLPClassifier(
        keep_prob=0.5,
        input_noise=0.1,
        learning_rate=0.01,
        max_iter=3,
        warm_start=True,
        random_state=seed,
    )
    created = []

    def recorded(rng, epochs_before=0):
        stream = training_stream(rng, epochs_before)
        created.append(np.concatenate([sfc64_state(stream), lane_states(stream).ravel()]))
        return stream

    monkeypatch.setattr(skreg._estimator, "training_stream", recorded)

    def calls():
        created.clear()
        fresh = clone(model)
        for _ in range(4):
            if continuation == "partial_fit":
                fresh.partial_fit(X, y, classes=[0, 1])
            else:
                fresh.fit(X, y)
        return [state.copy() for state in created]

    first, again = calls(), calls()
    assert len({state.tobytes() for state in first}) == 4
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_the_dropout_lanes_are_seeded_by_the_children_of_the_streams_seed():
    seed = np.random.RandomState(3).randint(2**32, size=4, dtype=np.uint64)
    children = np.random.SeedSequence(seed).spawn(DROPOUT_LANES)
    lanes = stream(3).lanes
    assert len(lanes) == DROPOUT_LANES
    for lane, child in zip(lanes, children):
        np.testing.assert_array_equal(lane.random_raw(3), np.random.SFC64(child).random_raw(3))
    np.testing.assert_array_equal(
        stream(3).bit_generator.random_raw(3), np.random.SFC64(seed).random_raw(3)
    )


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 37])
def test_dropout_words_are_rounds_of_the_lanes_outputs_halved_low_first(n):
    rounds = -(-((n + 1) // 2) // DROPOUT_LANES)
    raw = [[int(r) for r in lane.random_raw(rounds)] for lane in stream(3).lanes]
    expected = []
    for r in range(rounds):
        for lane in range(DROPOUT_LANES):
            expected += [raw[lane][r] & 0xFFFFFFFF, raw[lane][r] >> 32]
    words = dropout_words(stream(3), n)
    assert words.dtype == np.uint32
    assert words.tolist() == expected[:n]


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


def compiled_random_modules():
    """The compiled engine's builds of ``_random`` that run here: the baseline one, and the AVX2
    one where it was built and the CPU has AVX2."""
    from skreg._compiled_engine import _cpu_has_avx2

    names = ["skreg._compiled._random"]
    if _cpu_has_avx2():
        names.append("skreg._compiled_avx2._random")
    modules = []
    for name in names:
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            pass
    return modules


@pytest.mark.compiled
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("n", [1, 2, 3, 16, 17, 101, 4096])
def test_the_compiled_engine_draws_the_same_numbers(seed, n):
    for module in compiled_random_modules():
        numpy_side, compiled_side = stream(seed), stream(seed)
        words = dropout_words(numpy_side, n)
        normals = standard_normals(numpy_side, (n,))

        states, state = lane_states(compiled_side), sfc64_state(compiled_side)
        compiled_words = module.draw_words(states, n)
        compiled_normals = module.draw_normals(state, n)
        set_lane_states(compiled_side, states)
        set_sfc64_state(compiled_side, state)

        np.testing.assert_array_equal(compiled_words, words)
        # (np.log and math.log may differ in the last bit)
        np.testing.assert_allclose(compiled_normals, normals, rtol=1e-14, atol=1e-15)
        np.testing.assert_array_equal(compiled_side.random(4), numpy_side.random(4))
        np.testing.assert_array_equal(dropout_words(compiled_side, 9), dropout_words(numpy_side, 9))
