"""dlcourse.init against torch.nn.init.

Random initializers cannot share torch's random stream, so both sides are
checked against the distribution written out from the papers here in the test
(never against numbers the reference computed): mean, std, support and shape
of a large sample.  torch gets a tensor of the TRANSPOSED shape, because our
W is (fan_in, fan_out) while torch's weight is (fan_out, fan_in).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dlcourse import init as I

FAN_IN, FAN_OUT = 400, 500  # non-square, so mixing up fan_in and fan_out changes the std by 12%
SHAPE = (FAN_IN, FAN_OUT)
N = FAN_IN * FAN_OUT
# Every statistical check allows Z = 5 standard errors: a false failure has
# probability < 1e-6 per check, while the smallest error we want to catch
# (fan_in <-> fan_out, a 12% std change) is > 70 standard errors.
Z = 5.0
# Support check: the sample's extremes must lie within EDGE * width of the
# bounds; for N uniform draws P(miss) = (1 - EDGE)^N = e^-200.
EDGE = 1e-3
# Kurtosis mu4 / sigma^4 of the two families: Var[s^2] ~ (mu4 - sigma^4) / N,
# so the relative standard error of the sample std is sqrt((kurt - 1) / (4 N)).
KURTOSIS = {"normal": 3.0, "uniform": 1.8}


def check_sample(sample: np.ndarray, dist: str, mean: float, std: float) -> None:
    """Assert that sample looks like N(mean, std^2) or U with that mean and std."""
    sample = np.asarray(sample, dtype=np.float64).ravel()
    n = sample.size
    assert abs(sample.mean() - mean) < Z * std / math.sqrt(n), (sample.mean(), mean)
    rel_se = math.sqrt((KURTOSIS[dist] - 1) / (4 * n))
    assert abs(sample.std() / std - 1) < Z * rel_se, (sample.std(), std)
    if dist == "uniform":
        half_width = math.sqrt(3.0) * std
        low, high = mean - half_width, mean + half_width
        assert sample.min() >= low and sample.max() <= high
        assert sample.min() < low + EDGE * 2 * half_width and sample.max() > high - EDGE * 2 * half_width
    else:
        # P(|x - mean| < std) = erf(1/sqrt 2) for a normal (0.577 for a uniform of that std).
        p = math.erf(1 / math.sqrt(2))
        inside = np.mean(np.abs(sample - mean) < std)
        assert abs(inside - p) < Z * math.sqrt(p * (1 - p) / n), inside


def _torch_gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _torch_linear_weight(fan_in, fan_out):
    torch.manual_seed(0)  # nn.Linear draws from the global generator
    return torch.nn.Linear(fan_in, fan_out, dtype=torch.float64).weight.detach()


# (id, ours(shape, rng), torch(shape_out_in) -> tensor, dist, mean, std from the paper formula)
G_TANH = 5.0 / 3
LEAKY_GAIN = math.sqrt(2.0 / (1 + 0.2**2))
CASES = [
    ("normal", lambda s, r: I.normal(s, r, 0.5, 0.1),
     lambda s: torch.nn.init.normal_(torch.empty(s, dtype=torch.float64), 0.5, 0.1, generator=_torch_gen()),
     "normal", 0.5, 0.1),
    ("uniform", lambda s, r: I.uniform(s, r, -0.3, 0.7),
     lambda s: torch.nn.init.uniform_(torch.empty(s, dtype=torch.float64), -0.3, 0.7, generator=_torch_gen()),
     "uniform", 0.2, 1.0 / math.sqrt(12)),
    ("xavier_uniform", lambda s, r: I.xavier_uniform(s, r),
     lambda s: torch.nn.init.xavier_uniform_(torch.empty(s, dtype=torch.float64), generator=_torch_gen()),
     "uniform", 0.0, math.sqrt(6 / (FAN_IN + FAN_OUT)) / math.sqrt(3)),
    ("xavier_uniform_tanh_gain", lambda s, r: I.xavier_uniform(s, r, gain=G_TANH),
     lambda s: torch.nn.init.xavier_uniform_(torch.empty(s, dtype=torch.float64), gain=G_TANH, generator=_torch_gen()),
     "uniform", 0.0, G_TANH * math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("xavier_normal", lambda s, r: I.xavier_normal(s, r),
     lambda s: torch.nn.init.xavier_normal_(torch.empty(s, dtype=torch.float64), generator=_torch_gen()),
     "normal", 0.0, math.sqrt(2 / (FAN_IN + FAN_OUT))),
    ("he_uniform_defaults", lambda s, r: I.he_uniform(s, r),
     lambda s: torch.nn.init.kaiming_uniform_(torch.empty(s, dtype=torch.float64), generator=_torch_gen()),
     "uniform", 0.0, math.sqrt(2 / FAN_IN)),
    ("he_uniform_leaky_fan_out", lambda s, r: I.he_uniform(s, r, a=0.2, mode="fan_out"),
     lambda s: torch.nn.init.kaiming_uniform_(
         torch.empty(s, dtype=torch.float64), a=0.2, mode="fan_out", generator=_torch_gen()),
     "uniform", 0.0, LEAKY_GAIN / math.sqrt(FAN_OUT)),
    ("he_normal_defaults", lambda s, r: I.he_normal(s, r),
     lambda s: torch.nn.init.kaiming_normal_(torch.empty(s, dtype=torch.float64), generator=_torch_gen()),
     "normal", 0.0, math.sqrt(2 / FAN_IN)),
    ("he_normal_relu_fan_out", lambda s, r: I.he_normal(s, r, mode="fan_out", nonlinearity="relu"),
     lambda s: torch.nn.init.kaiming_normal_(
         torch.empty(s, dtype=torch.float64), mode="fan_out", nonlinearity="relu", generator=_torch_gen()),
     "normal", 0.0, math.sqrt(2 / FAN_OUT)),
    ("lecun_normal", lambda s, r: I.lecun_normal(s, r),
     lambda s: torch.nn.init.kaiming_normal_(
         torch.empty(s, dtype=torch.float64), nonlinearity="linear", generator=_torch_gen()),
     "normal", 0.0, 1 / math.sqrt(FAN_IN)),
    ("torch_linear_default", lambda s, r: I.torch_linear_default(s, r),
     lambda s: _torch_linear_weight(s[1], s[0]),
     "uniform", 0.0, 1 / math.sqrt(FAN_IN) / math.sqrt(3)),
]
IDS = [c[0] for c in CASES]
RANDOM_INITS = [c[1] for c in CASES]


@pytest.mark.parametrize("case_id, ours, theirs, dist, mean, std", CASES, ids=IDS)
def test_ours_has_the_paper_distribution(case_id, ours, theirs, dist, mean, std):
    w = ours(SHAPE, np.random.default_rng(0))
    assert w.shape == SHAPE and w.dtype == np.float64
    check_sample(w, dist, mean, std)


@pytest.mark.parametrize("case_id, ours, theirs, dist, mean, std", CASES, ids=IDS)
def test_torch_passes_the_same_check_on_the_transposed_shape(case_id, ours, theirs, dist, mean, std):
    # Shows the check (and thus our init) agrees with torch.nn.init on W^T.
    w = theirs((FAN_OUT, FAN_IN))
    assert tuple(w.shape) == (FAN_OUT, FAN_IN)
    check_sample(w.numpy(), dist, mean, std)


def test_fan_in_is_shape0_not_torchs_size1():
    # The check distinguishes the two fans: He std sqrt(2/500) must FAIL for our (400, 500) W.
    w = I.he_normal(SHAPE, np.random.default_rng(0))
    with pytest.raises(AssertionError):
        check_sample(w, "normal", 0.0, math.sqrt(2 / FAN_OUT))


@pytest.mark.parametrize("ours", RANDOM_INITS, ids=IDS)
def test_deterministic_given_seed_and_uses_its_rng(ours):
    a = ours((7, 3), np.random.default_rng(42))
    b = ours((7, 3), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, ours((7, 3), np.random.default_rng(43)))
    rng = np.random.default_rng(42)
    ours((7, 3), rng)
    assert rng.random() != np.random.default_rng(42).random()  # the generator was advanced


@pytest.mark.parametrize("ours", RANDOM_INITS, ids=IDS)
def test_no_global_random_state(ours):
    state = np.random.get_state()[1].copy()
    ours((3, 5), np.random.default_rng(0))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("ours", RANDOM_INITS, ids=IDS)
def test_rng_is_required(ours):
    with pytest.raises(TypeError, match=r"rng must be a numpy\.random\.Generator"):
        ours((3, 5), 0)


@pytest.mark.parametrize("shape", [(1, 1), (3, 7), (1, 5)])
def test_zeros_and_constant_match_torch(shape):
    t = torch.empty(shape[::-1], dtype=torch.float64)
    np.testing.assert_array_equal(I.zeros(shape), torch.nn.init.zeros_(t).numpy().T)
    np.testing.assert_array_equal(I.constant(shape, 0.25), torch.nn.init.constant_(t, 0.25).numpy().T)
    np.testing.assert_array_equal(I.zeros(shape, np.random.default_rng(0)), np.zeros(shape))
    assert I.zeros(shape).dtype == np.float64 and I.constant(shape, 1).dtype == np.float64


NAMES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
         "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("param", [None, 0, 0.2, 1, 3, 0.01])
def test_calculate_gain_equals_torch(name, param):
    # Closed forms; torch evaluates the same expression: rtol 1e-15.
    assert I.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param), rel=1e-15)


def test_calculate_gain_default_leaky_slope_and_relu_equivalence():
    assert I.calculate_gain("leaky_relu") == pytest.approx(torch.nn.init.calculate_gain("leaky_relu"), rel=1e-15)
    assert I.calculate_gain("leaky_relu", 0) == pytest.approx(torch.nn.init.calculate_gain("relu"), rel=1e-15)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: I.calculate_gain("gelu"), ValueError, r"nonlinearity must be one of .*'relu'"),
        (lambda: I.calculate_gain("leaky_relu", "0.1"), TypeError, "param"),
        (lambda: I.he_normal((3, 4), np.random.default_rng(0), mode="fan_avg"), ValueError,
         r"mode must be one of 'fan_in', 'fan_out'"),
        (lambda: I.he_uniform((3, 4), np.random.default_rng(0), nonlinearity="swish"), ValueError, "nonlinearity"),
        (lambda: I.xavier_uniform((3,), np.random.default_rng(0)), ValueError, r"shape must be a pair"),
        (lambda: I.xavier_normal((3, 0), np.random.default_rng(0)), ValueError, r"shape must be a pair"),
        (lambda: I.lecun_normal((3, 4, 5), np.random.default_rng(0)), ValueError, r"shape must be a pair"),
        (lambda: I.xavier_uniform((3, 4), np.random.default_rng(0), gain=-1.0), ValueError, "gain"),
        (lambda: I.normal((3, 4), np.random.default_rng(0), std=-0.1), ValueError, "std"),
        (lambda: I.uniform((3, 4), np.random.default_rng(0), low=1.0, high=0.5), ValueError, "high"),
        (lambda: I.zeros((3, -1)), ValueError, "shape"),
        (lambda: I.zeros((3, 4), rng=1), TypeError, "rng"),
        (lambda: I.constant((3, 4), "1"), TypeError, "value"),
    ],
)
def test_bad_arguments_name_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_plain_normal_and_uniform_accept_any_shape():
    rng = np.random.default_rng(0)
    assert I.normal((2, 3, 4), rng).shape == (2, 3, 4)
    assert I.uniform((5,), rng).shape == (5,)
