"""Initializer checks: the reference passes, catalogued mistakes are diagnosed, correct variants pass.

The draws are random, so the checks compare statistics of large draws with
the theory (see dlcourse/grading/topics/init.py for the tolerances); the
correct alternatives below draw in other ways (other numpy calls, other
orders, Box-Muller) so that they also exercise the sampling tolerance.
"""

import math

import numpy as np
import pytest

from dlcourse import init as I
from dlcourse.grading import targets
from dlcourse.grading.topics.init import _init_target
from grading.helpers import assert_accepted, assert_catalogue_diagnosed, assert_rejected, passes_as_reference

NAMES = [t for t in targets() if t.startswith("init.")]
XU, XN, HU, HN = "init.xavier_uniform", "init.xavier_normal", "init.he_uniform", "init.he_normal"


def test_the_four_targets_exist():
    assert set(NAMES) == {XU, XN, HU, HN}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(name, hidden):
    assert passes_as_reference(name, hidden).startswith("OK")


@pytest.mark.parametrize("name", NAMES)
def test_every_catalogued_mistake_is_caught_by_the_hidden_checks(name):
    assert_catalogue_diagnosed(name, hidden=True)


def test_an_init_check_is_named_after_its_reference():
    with pytest.raises(ValueError, match=r"must be called 'init\.he_normal'"):
        _init_target("init.kaiming_normal", I.he_normal, "normal", [{}], lambda shape, kwargs: 1.0, ())


# ---------------------------------------------------------------------------
# Students' wrong code, written from scratch with numpy only
# ---------------------------------------------------------------------------


def he_normal_torch_fans(shape, rng, mode="fan_in"):
    fan_in, fan_out = shape[1], shape[0]  # read as torch's (out_features, in_features)
    fan = fan_in if mode == "fan_in" else fan_out
    return rng.normal(0.0, math.sqrt(2.0 / fan), size=shape)


def he_normal_no_gain(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    return rng.standard_normal(shape) / np.sqrt(fan)


def he_uniform_no_mode(shape, rng, mode="fan_in"):
    bound = np.sqrt(6 / shape[0])
    return rng.uniform(-bound, bound, shape)


def he_uniform_no_gain(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    limit = np.sqrt(3.0 / fan)
    return rng.uniform(low=-limit, high=limit, size=shape)


def he_uniform_bound_is_std(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    std = np.sqrt(2 / fan)
    return rng.uniform(-std, std, size=shape)


def he_normal_as_uniform(shape, rng, mode="fan_in"):
    fan = {"fan_in": shape[0], "fan_out": shape[1]}[mode]
    b = np.sqrt(6 / fan)
    return (2 * rng.random(shape) - 1) * b


def xavier_uniform_lecture_bound(shape, rng, gain=1.0):
    n_in, n_out = shape
    bound = gain * np.sqrt(6) / (n_in + n_out)  # the slide's typo
    return rng.uniform(-bound, bound, size=(n_in, n_out))


def xavier_uniform_bound_is_std(shape, rng, gain=1.0):
    a = gain * np.sqrt(2.0 / (shape[0] + shape[1]))
    return rng.uniform(-a, a, size=shape)


def xavier_uniform_as_normal(shape, rng, gain=1.0):
    return gain * np.sqrt(2 / sum(shape)) * rng.standard_normal(shape)


def xavier_uniform_not_centred(shape, rng, gain=1.0):
    return rng.random(shape) * gain * np.sqrt(6 / (shape[0] + shape[1]))


def xavier_uniform_global(shape, rng, gain=1.0):
    bound = gain * np.sqrt(6 / (shape[0] + shape[1]))
    return np.random.uniform(-bound, bound, size=shape)


def xavier_uniform_no_gain(shape, rng, gain=1.0):
    bound = np.sqrt(6 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape)


def xavier_normal_uniform_bound(shape, rng, gain=1.0):
    return rng.normal(0, gain * np.sqrt(6 / (shape[0] + shape[1])), shape)


def xavier_normal_variance(shape, rng, gain=1.0):
    return rng.normal(0, gain * 2 / (shape[0] + shape[1]), shape)


def xavier_normal_own_seed(shape, rng, gain=1.0):
    generator = np.random.default_rng(42)
    return generator.normal(0, gain * np.sqrt(2 / (shape[0] + shape[1])), shape)


def he_normal_global(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    return np.random.randn(*shape) * np.sqrt(2 / fan)


@pytest.mark.parametrize(
    ("fn", "against", "mistake"),
    [
        (he_normal_torch_fans, HN, "hn_fans_swapped"),
        (he_normal_no_gain, HN, "hn_no_gain"),
        (he_normal_as_uniform, HN, "hn_uniform_instead"),
        (he_normal_global, HN, "hn_not_from_rng"),
        (he_uniform_no_mode, HU, "hu_ignores_mode"),
        (he_uniform_no_gain, HU, "hu_no_gain"),
        (he_uniform_bound_is_std, HU, "hu_bound_is_std"),
        (xavier_uniform_lecture_bound, XU, "xu_bound_n_not_sqrt"),
        (xavier_uniform_bound_is_std, XU, "xu_bound_is_std"),
        (xavier_uniform_as_normal, XU, "xu_normal_instead"),
        (xavier_uniform_not_centred, XU, "xu_not_centred"),
        (xavier_uniform_global, XU, "xu_not_from_rng"),
        (xavier_uniform_no_gain, XU, "xu_ignores_gain"),
        (xavier_normal_uniform_bound, XN, "xn_uniform_bound_as_std"),
        (xavier_normal_variance, XN, "xn_variance_as_std"),
        (xavier_normal_own_seed, XN, "xn_fixed_seed"),
    ],
)
@pytest.mark.parametrize("hidden", [False, True])
def test_mistakes_are_diagnosed(fn, against, mistake, hidden):
    np.random.seed(0)  # the global-state students draw from it; keep the test deterministic
    assert_rejected([fn], against, mistake, hidden=hidden)


# ---------------------------------------------------------------------------
# contract failures: clear feedback
# ---------------------------------------------------------------------------


def he_normal_transposed(shape, rng, mode="fan_in"):
    fan_in, fan_out = shape
    return rng.normal(0, np.sqrt(2 / fan_in), size=(fan_out, fan_in))  # torch's weight layout


def he_normal_no_return(shape, rng, mode="fan_in"):
    w = rng.normal(0, np.sqrt(2 / shape[0]), size=shape)  # noqa: F841


def he_normal_with_bias(shape, rng, mode="fan_in"):
    return rng.normal(0, np.sqrt(2 / shape[0]), size=shape), np.zeros(shape[1])


def he_normal_list(shape, rng, mode="fan_in"):
    return rng.normal(0, np.sqrt(2 / shape[0]), size=shape).tolist()


def he_normal_nan(shape, rng, mode="fan_in"):
    std = np.sqrt(2 / shape[0])
    w = rng.normal(0, std, size=shape)
    return np.where(np.abs(w) > 2 * std, np.nan, w)  # a truncated normal gone wrong: should redraw, not nan


def he_normal_other_keyword(shape, rng, fan_mode="fan_in"):
    return rng.normal(0, np.sqrt(2 / shape[0]), size=shape)


def xavier_uniform_ints(shape, rng, gain=1.0):
    return rng.integers(-1, 2, size=shape)


def xavier_uniform_one_row(shape, rng, gain=1.0):
    return rng.uniform(-1, 1, size=shape[1])


@pytest.mark.parametrize(
    ("fn", "against", "text"),
    [
        (he_normal_transposed, HN, "shape (500, 400), which is (fan_out, fan_in)"),
        (he_normal_no_return, HN, "it returned None"),
        (he_normal_with_bias, HN, "it returned a tuple"),
        (he_normal_list, HN, "it returned a list"),
        (he_normal_nan, HN, "he_normal returned nan at index"),
        (he_normal_other_keyword, HN, "he_normal raised TypeError"),
        (xavier_uniform_ints, XU, "dtype int64"),
        (xavier_uniform_one_row, XU, "returned an array of shape (500,)"),
    ],
)
def test_contract_failures_give_clear_feedback(fn, against, text):
    assert_rejected([fn], against, match=text)


def test_rng_that_is_not_advanced_is_reported():
    # draws from a copy of rng: reproducible and seed-dependent, but the generator passed in never moves
    def he_normal_copy(shape, rng, mode="fan_in"):
        fan = shape[0] if mode == "fan_in" else shape[1]
        state = rng.bit_generator.state
        twin = np.random.Generator(type(rng.bit_generator)())
        twin.bit_generator.state = state
        return twin.normal(0, np.sqrt(2 / fan), size=shape)

    assert_rejected([he_normal_copy], HN, match="(its state advanced) should be True")


# ---------------------------------------------------------------------------
# correct implementations written differently: never rejected
# ---------------------------------------------------------------------------


def xavier_uniform_from_random(shape, rng, gain=1.0):
    fan_in, fan_out = shape
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / (fan_in + fan_out))
    return bound * (2.0 * rng.random(size=(fan_in, fan_out)) - 1.0)


def xavier_uniform_transposed_draw(shape, rng, gain=1.0):
    # drawn as (fan_out, fan_in) and transposed back: another order of the same stream
    bound = gain * np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape[::-1]).T.copy()


def xavier_normal_box_muller(shape, rng, gain=1.0):
    # a different stream entirely: tests the sampling tolerance, not a coincidence of draws
    u1, u2 = 1.0 - rng.random(shape), rng.random(shape)
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return gain * np.sqrt(2.0 / (shape[0] + shape[1])) * z


def xavier_normal_rows(shape, rng, gain=1.0):
    std = gain * (2.0 / sum(shape)) ** 0.5
    return np.stack([rng.normal(0.0, std, shape[1]) for _ in range(shape[0])])


def he_uniform_float32(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    gain = np.sqrt(2.0)
    bound = gain * np.sqrt(3.0 / fan)
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def he_uniform_reference_signature(shape, rng, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    fan = {"fan_in": shape[0], "fan_out": shape[1]}[mode]
    gain = math.sqrt(2.0 / (1 + a**2))
    return rng.uniform(-gain * math.sqrt(3 / fan), gain * math.sqrt(3 / fan), size=shape)


def he_normal_standard(shape, rng, mode="fan_in"):
    fan_in, fan_out = shape
    return rng.standard_normal(shape) * np.sqrt(2.0 / (fan_in if mode == "fan_in" else fan_out))


def he_normal_box_muller(shape, rng, mode="fan_in"):
    n = shape[0] * shape[1]
    u1, u2 = rng.random((n + 1) // 2), rng.random((n + 1) // 2)
    radius = np.sqrt(-2.0 * np.log1p(-u1))
    z = np.concatenate([radius * np.cos(2 * np.pi * u2), radius * np.sin(2 * np.pi * u2)])[:n]
    fan = shape[0] if mode == "fan_in" else shape[1]
    return z.reshape(shape) * math.sqrt(2.0 / fan)


@pytest.mark.parametrize(
    ("fn", "against"),
    [
        (xavier_uniform_from_random, XU),
        (xavier_uniform_transposed_draw, XU),
        (xavier_normal_box_muller, XN),
        (xavier_normal_rows, XN),
        (he_uniform_float32, HU),
        (he_uniform_reference_signature, HU),
        (he_normal_standard, HN),
        (he_normal_box_muller, HN),
    ],
)
def test_correct_alternatives_are_accepted(fn, against):
    assert_accepted([fn], against)
