"""Student implementations of the Xavier and He initializers (problem set 2, parts 4-5)."""

import math

import numpy as np

from corpus import Correct, Wrong

# ---------------------------------------------------------------- init.he_normal


def he_normal_lecun(shape, rng, mode="fan_in"):
    fan_in, fan_out = shape
    fan = fan_in if mode == "fan_in" else fan_out
    # N(0,1) * sqrt(1/n_in) from the slide
    return rng.standard_normal(shape) * np.sqrt(1 / fan)


def he_normal_variance_passed(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    var = 2.0 / fan
    return rng.normal(0.0, var, size=shape)


def he_normal_torch_fans(shape, rng, mode="fan_in"):
    # torch: fan_in = size(1), fan_out = size(0)
    fan_in = shape[1]
    fan_out = shape[0]
    fan = fan_in if mode == "fan_in" else fan_out
    return rng.normal(0.0, math.sqrt(2.0 / fan), size=shape)


def he_normal_always_fan_in(shape, rng, mode="fan_in"):
    n_in = shape[0]
    std = math.sqrt(2 / n_in)
    return rng.normal(0, std, size=shape)


def he_normal_is_xavier(shape, rng, mode="fan_in"):
    fan_in, fan_out = shape
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return rng.normal(0.0, std, size=shape)


def he_normal_global_random(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    return np.random.randn(*shape) * np.sqrt(2 / fan)


def he_normal_standard_times_std(shape, rng, mode="fan_in"):
    if mode == "fan_in":
        fan = shape[0]
    elif mode == "fan_out":
        fan = shape[1]
    else:
        raise ValueError(mode)
    return math.sqrt(2.0) / math.sqrt(fan) * rng.standard_normal(size=shape)


# ---------------------------------------------------------------- init.he_uniform


def he_uniform_std_as_bound(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    limit = np.sqrt(2 / fan)
    return rng.uniform(-limit, limit, size=shape)


def he_uniform_np_random(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    limit = np.sqrt(6 / fan)
    return np.random.uniform(-limit, limit, size=shape)


def he_uniform_normal_draw(shape, rng, mode="fan_in"):
    fan = shape[0] if mode == "fan_in" else shape[1]
    b = math.sqrt(6 / fan)
    return rng.normal(0.0, b, size=shape)


def he_uniform_seeded(shape, rng, mode="fan_in"):
    # fixed seed so results are reproducible
    gen = np.random.default_rng(0)
    fan = shape[0] if mode == "fan_in" else shape[1]
    b = math.sqrt(6 / fan)
    return gen.uniform(-b, b, size=shape)


def he_uniform_gaussian_torch_fans(shape, rng, mode="fan_in"):
    fan_out, fan_in = shape  # weight is (out, in) in torch
    fan = fan_in if mode == "fan_in" else fan_out
    return rng.normal(0.0, math.sqrt(6 / fan), size=shape)


def he_uniform_rescaled_random(shape, rng, mode="fan_in"):
    fans = {"fan_in": shape[0], "fan_out": shape[1]}
    bound = math.sqrt(3.0) * math.sqrt(2.0 / fans[mode])
    u = rng.random(shape)  # U[0, 1)
    return (2.0 * u - 1.0) * bound


# ---------------------------------------------------------------- init.xavier_normal


def xavier_normal_uniform_bound(shape, rng, gain=1.0):
    n_in, n_out = shape
    std = gain * np.sqrt(6.0 / (n_in + n_out))
    return rng.normal(0.0, std, size=shape)


def xavier_normal_no_gain(shape, rng, gain=1.0):
    n_in, n_out = shape
    return rng.normal(0.0, np.sqrt(2 / (n_in + n_out)), size=shape)


def xavier_normal_variance(shape, rng, gain=1.0):
    fan_in, fan_out = shape
    return rng.normal(loc=0.0, scale=gain**2 * 2 / (fan_in + fan_out), size=shape)


def xavier_normal_avg_fan(shape, rng, gain=1.0):
    # variance = 1 / fan_avg with fan_avg = (fan_in + fan_out) / 2
    fan_avg = (shape[0] + shape[1]) / 2
    z = rng.standard_normal(shape)
    return z * (gain / math.sqrt(fan_avg))


# ---------------------------------------------------------------- init.xavier_uniform


def xavier_uniform_bad_sqrt(shape, rng, gain=1.0):
    fan_in, fan_out = shape
    b = gain * np.sqrt(6) / (fan_in + fan_out)
    return rng.uniform(-b, b, size=shape)


def xavier_uniform_half_range(shape, rng, gain=1.0):
    fan_in, fan_out = shape
    b = gain * math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(0, b, size=shape)


def xavier_uniform_fixed_seed(shape, rng, gain=1.0):
    rng = np.random.default_rng(42)
    fan_in, fan_out = shape
    b = gain * math.sqrt(6 / (fan_in + fan_out))
    return rng.uniform(-b, b, size=shape)


def xavier_uniform_lecun(shape, rng, gain=1.0):
    fan_in = shape[0]
    a = gain * math.sqrt(3 / fan_in)
    return rng.uniform(-a, a, size=shape)


def xavier_uniform_via_std(shape, rng, gain=1.0):
    fan_in, fan_out = shape
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    bound = math.sqrt(3.0) * std  # U(-b, b) has std b / sqrt(3)
    return rng.uniform(low=-bound, high=bound, size=(fan_in, fan_out))


WRONG = [
    # he_normal
    Wrong("init.he_normal", (he_normal_lecun,), frozenset({"hn_no_gain"}), "LeCun's sqrt(1 / fan), no ReLU gain"),
    Wrong("init.he_normal", (he_normal_variance_passed,), frozenset({"hn_variance_as_std"}),
          "passes the variance 2 / fan to rng.normal as the scale"),
    Wrong("init.he_normal", (he_normal_torch_fans,), frozenset({"hn_fans_swapped"}),
          "took fan_in from shape[1] as torch does"),
    Wrong("init.he_normal", (he_normal_always_fan_in,), frozenset({"hn_ignores_mode", "ignored:mode"}),
          "always fan_in, mode unused"),
    Wrong("init.he_normal", (he_normal_is_xavier,), frozenset({"same_as:init.xavier_normal"}),
          "wrote Glorot's std sqrt(2 / (fan_in + fan_out))"),
    Wrong("init.he_normal", (he_normal_global_random,), frozenset({"hn_not_from_rng"}), "np.random.randn, rng unused"),
    # he_uniform
    Wrong("init.he_uniform", (he_uniform_std_as_bound,), frozenset({"hu_bound_is_std"}),
          "bound sqrt(2 / fan), the std, without sqrt(3)"),
    Wrong("init.he_uniform", (he_uniform_np_random,), frozenset({"hu_not_from_rng"}),
          "np.random.uniform instead of rng"),
    Wrong("init.he_uniform", (he_uniform_normal_draw,), frozenset({"hu_normal_instead", "hu_normal_with_bound"}),
          "normal draw with the uniform bound as std"),
    Wrong("init.he_uniform", (he_uniform_seeded,), frozenset({"hu_fixed_seed"}),
          "default_rng(0) inside the function"),
    Wrong("init.he_uniform", (he_uniform_gaussian_torch_fans,),
          frozenset({"hu_normal_instead", "hu_normal_with_bound", "hu_fans_swapped"}),
          "two mistakes: a normal draw, and the fans read in torch's (out, in) order"),
    # xavier_normal
    Wrong("init.xavier_normal", (xavier_normal_uniform_bound,), frozenset({"xn_uniform_bound_as_std"}),
          "std sqrt(6 / (fan_in + fan_out))"),
    Wrong("init.xavier_normal", (xavier_normal_no_gain,), frozenset({"xn_ignores_gain", "ignored:gain"}),
          "gain unused"),
    Wrong("init.xavier_normal", (xavier_normal_variance,), frozenset({"xn_variance_as_std"}),
          "gain^2 * 2 / (fan_in + fan_out), the variance, as the std"),
    # xavier_uniform
    Wrong("init.xavier_uniform", (xavier_uniform_bad_sqrt,), frozenset({"xu_bound_n_not_sqrt"}),
          "sqrt(6) / (fan_in + fan_out)"),
    Wrong("init.xavier_uniform", (xavier_uniform_half_range,), frozenset({"xu_not_centred"}), "U(0, b)"),
    Wrong("init.xavier_uniform", (xavier_uniform_fixed_seed,), frozenset({"xu_fixed_seed"}),
          "overwrites rng with default_rng(42)"),
    Wrong("init.xavier_uniform", (xavier_uniform_lecun,), frozenset({"xu_fan_in_only"}),
          "bound gain * sqrt(3 / fan_in), the fan_in-only rule"),
]

CORRECT = [
    Correct("init.he_normal", (he_normal_standard_times_std,), "standard_normal times sqrt(2) / sqrt(fan)"),
    Correct("init.he_uniform", (he_uniform_rescaled_random,), "rng.random rescaled to [-b, b)"),
    Correct("init.xavier_normal", (xavier_normal_avg_fan,), "gain / sqrt(fan_avg) times standard_normal"),
    Correct("init.xavier_uniform", (xavier_uniform_via_std,), "bound = sqrt(3) * std"),
]
