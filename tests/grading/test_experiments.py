"""Experiment checks: the layer_spread target, its catalogue, and the plot's conclusions.

The answer key of the conclusions is recomputed from torch curves (``torch_spread`` of
tests/test_experiments.py: the network rebuilt in torch with the papers' standard deviations,
never from dlcourse).
"""

import subprocess
import sys

import numpy as np
import pytest
import torch
from test_experiments import DEFAULT_SIZES, torch_spread

from dlcourse.experiments import SPREAD_INITS
from dlcourse.grading import GradingError, check_spread_conclusions, get_target, targets
from dlcourse.grading.topics.experiments import OTHER_SEED, SAME_SEED, SPREAD_QUESTIONS
from grading.helpers import assert_accepted, assert_rejected, passes_as_reference

TARGET = "experiments.layer_spread"


@pytest.fixture(autouse=True)
def one_torch_thread():
    # 20 (512, 256) x (256, 256) products: two threads fighting numpy and xdist for 2 cores run 5x slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_importing_the_topic_does_not_import_torch():
    code = "import sys, dlcourse.grading.topics.experiments; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_check_spread_conclusions_is_exported_by_dlcourse_grading():
    import dlcourse.grading
    from dlcourse.grading.topics import experiments

    assert "check_spread_conclusions" in dlcourse.grading.__all__
    assert dlcourse.grading.check_spread_conclusions is experiments.check_spread_conclusions


# ---------------------------------------------------------------------------
# the check target
# ---------------------------------------------------------------------------


def test_the_target_is_registered():
    assert TARGET in targets()
    assert get_target(TARGET).roles == ("layer_spread",)


@pytest.mark.parametrize("hidden", [False, True])
def test_reference_passes(hidden):
    assert passes_as_reference(TARGET, hidden).startswith("OK")


@pytest.mark.parametrize("mistake", get_target(TARGET).mistakes, ids=lambda m: m.name)
def test_every_catalogued_mistake_is_diagnosed_by_the_visible_checks(mistake):
    assert_rejected(list(mistake.impl), TARGET, mistake.name, trusted=True)


def test_every_catalogued_mistake_is_caught_by_the_hidden_checks():
    for mistake in get_target(TARGET).mistakes:
        assert_rejected(list(mistake.impl), TARGET, mistake.name, hidden=True, trusted=True)


# Students' wrong code, written from scratch with numpy only.
def _std(init, width):
    return {"xavier_normal": np.sqrt(1 / width), "he_normal": np.sqrt(2 / width), "normal_0.01": 0.01}[init]


def _act(activation, z):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "linear": lambda v: v}[activation](z)


def _act_grad(activation, z):
    return {"tanh": lambda v: 1 - np.tanh(v) ** 2, "relu": lambda v: (v > 0) * 1.0,
            "linear": np.ones_like}[activation](z)


def spread_forgot_derivative(init, activation, depth=20, width=256, batch=512, rng=None):
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    acts, h = [], x
    for W in Ws:
        h = _act(activation, h @ W)
        acts.append(h.std())
    grads, dh = [], g
    for W in reversed(Ws):
        dh = dh @ W.T
        grads.append(dh.std())
    return np.array(acts), np.array(grads[::-1])


def spread_grad_before_derivative(init, activation, depth=20, width=256, batch=512, rng=None):
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(np.std(h))
    grads = np.zeros(depth)
    dh = g
    for layer in range(depth - 1, -1, -1):
        grads[layer] = np.std(dh)  # recorded too early: the gradient at the layer's output
        dh = (dh * _act_grad(activation, zs[layer])) @ Ws[layer].T
    return np.array(acts), grads


def spread_he_without_gain(init, activation, depth=20, width=256, batch=512, rng=None):
    std = {"xavier_normal": (2 / (width + width)) ** 0.5, "he_normal": (1 / width) ** 0.5, "normal_0.01": 0.01}[init]
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, std, (width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(h.std())
    grads, dh = [], g
    for W, z in zip(reversed(Ws), reversed(zs), strict=True):
        dh = (dh * _act_grad(activation, z)) @ W.T
        grads.insert(0, dh.std())
    return np.array(acts), np.array(grads)


def spread_unbiased_std(init, activation, depth=20, width=256, batch=512, rng=None):
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(np.std(h, ddof=1))
    grads, dh = [], g
    for W, z in zip(reversed(Ws), reversed(zs), strict=True):
        dh = (dh * _act_grad(activation, z)) @ W.T
        grads.append(np.std(dh, ddof=1))
    return np.array(acts), np.array(grads[::-1])


def spread_g_first(init, activation, depth=20, width=256, batch=512, rng=None):
    x = rng.standard_normal((batch, width))
    g = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(h.std())
    grads, dh = [], g
    for W, z in zip(reversed(Ws), reversed(zs), strict=True):
        dh = (dh * _act_grad(activation, z)) @ W.T
        grads.append(dh.std())
    return np.array(acts), np.array(grads[::-1])


def spread_global_random(init, activation, depth=20, width=256, batch=512, rng=None):
    x = np.random.standard_normal((batch, width))  # numpy's global generator, not rng
    Ws = [np.random.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    g = np.random.standard_normal((batch, width))
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(h.std())
    grads, dh = [], g
    for W, z in zip(reversed(Ws), reversed(zs), strict=True):
        dh = (dh * _act_grad(activation, z)) @ W.T
        grads.append(dh.std())
    return np.array(acts), np.array(grads[::-1])


def spread_own_seed(init, activation, depth=20, width=256, batch=512, rng=None):
    rng = np.random.default_rng(0)  # seeded inside: ignores the generator passed in
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0, _std(init, width), size=(width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    zs, acts, h = [], [], x
    for W in Ws:
        zs.append(h @ W)
        h = _act(activation, zs[-1])
        acts.append(h.std())
    grads, dh = [], g
    for W, z in zip(reversed(Ws), reversed(zs), strict=True):
        dh = (dh * _act_grad(activation, z)) @ W.T
        grads.append(dh.std())
    return np.array(acts), np.array(grads[::-1])


@pytest.mark.parametrize(("fn", "mistake"), [
    (spread_forgot_derivative, "spread_no_activation_derivative"),
    (spread_grad_before_derivative, "spread_grad_at_layer_output"),
    (spread_he_without_gain, "spread_he_no_gain"),
    (spread_unbiased_std, "spread_std_ddof_1"),
    (spread_g_first, "spread_g_drawn_before_weights"),
])
def test_mistakes_are_diagnosed(fn, mistake):
    assert_rejected([fn], TARGET, mistake)


@pytest.mark.parametrize(("fn", "label"), [(spread_global_random, SAME_SEED), (spread_own_seed, OTHER_SEED)])
def test_drawing_outside_rng_is_named(fn, label):
    assert_rejected([fn], TARGET, match=label)


# Correct implementations written differently from the reference.
def spread_all_weights_at_once(init, activation, depth=20, width=256, batch=512, rng=None):
    x = rng.normal(size=(batch, width))
    W = rng.normal(0.0, _std(init, width), size=(depth, width, width))  # the same stream as depth draws
    g = rng.normal(size=(batch, width))
    zs, hs = [], [x]
    for layer in range(depth):
        zs.append(np.einsum("bi,io->bo", hs[-1], W[layer]))
        hs.append(_act(activation, zs[-1]))
    dh, grads = g, np.empty(depth)
    for layer in reversed(range(depth)):
        dh = np.einsum("bo,io->bi", dh * _act_grad(activation, zs[layer]), W[layer])
        grads[layer] = np.sqrt(np.mean((dh - dh.mean()) ** 2))
    return np.array([h.std() for h in hs[1:]]), grads


def spread_derivative_from_outputs(init, activation, depth=20, width=256, batch=512, rng=None):
    h = rng.standard_normal((batch, width))
    Ws = [rng.standard_normal((width, width)) * _std(init, width) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    outs = []
    for W in Ws:
        h = _act(activation, h @ W)
        outs.append(h)
    slope = {"tanh": lambda out: 1 - out**2, "relu": lambda out: (out > 0).astype(float),
             "linear": lambda out: 1.0}[activation]
    grads, dh = [], g
    for W, out in zip(Ws[::-1], outs[::-1], strict=True):
        dh = (W @ (dh * slope(out)).T).T
        grads.append(float(np.var(dh) ** 0.5))
    return [float(o.std()) for o in outs], grads[::-1]  # lists are accepted


def spread_cosh(init, activation, depth=20, width=256, batch=512, rng=None):
    rng = np.random.default_rng(0) if rng is None else rng
    x = rng.standard_normal((batch, width))
    Ws = [rng.normal(0.0, _std(init, width), (width, width)) for _ in range(depth)]
    g = rng.standard_normal((batch, width))
    derivative = {"tanh": lambda z: 1 / np.cosh(z) ** 2, "relu": lambda z: np.heaviside(z, 0.0),
                  "linear": np.ones_like}[activation]
    zs, acts = [], []
    for W in Ws:
        zs.append((x if not zs else _act(activation, zs[-1])) @ W)
        acts.append(_act(activation, zs[-1]).std())
    grads, dh = [None] * depth, g
    for layer in range(depth - 1, -1, -1):
        dh = (dh * derivative(zs[layer])) @ Ws[layer].T
        grads[layer] = dh.std()
    return np.asarray(acts), np.asarray(grads)


@pytest.mark.parametrize("fn", [spread_all_weights_at_once, spread_derivative_from_outputs, spread_cosh])
def test_correct_alternatives_are_accepted(fn):
    assert_accepted([fn], TARGET)


def test_wrong_length_is_a_contract_error():
    def one_too_many(init, activation, depth=20, width=256, batch=512, rng=None):
        act, grad = spread_cosh(init, activation, depth, width, batch, rng)
        return np.concatenate([[1.0], act]), grad  # the input's std in front

    assert_rejected([one_too_many], TARGET, match="one std per layer, shape (depth,) = (3,)")


# ---------------------------------------------------------------------------
# the conclusions
# ---------------------------------------------------------------------------

ANSWERS = {key: question.answer for key, question in SPREAD_QUESTIONS.items()}


def _trend(ratio):
    return "explode" if ratio > 10 else "vanish" if ratio < 0.1 else "stay"


def _steady(ratio):
    return 0.5 <= ratio <= 2


@pytest.mark.parametrize("seed", [0, 1])
def test_the_answer_key_follows_from_torchs_curves(seed):
    curves = {(init, act): torch_spread(init, act, *DEFAULT_SIZES, seed=seed)
              for init in SPREAD_INITS for act in ("relu", "linear")}
    curves["normal_0.01", "tanh"] = torch_spread("normal_0.01", "tanh", *DEFAULT_SIZES, seed=seed)

    def activation_ratio(key):  # layer 20 over layer 1
        return curves[key][0][-1] / curves[key][0][0]

    def gradient_ratio(key):  # at layer 1's input over at layer 20's input
        return curves[key][1][0] / curves[key][1][-1]

    relu_steady = [i for i in SPREAD_INITS if _steady(activation_ratio((i, "relu")))]
    linear_steady = [i for i in SPREAD_INITS
                     if _steady(activation_ratio((i, "linear"))) and _steady(gradient_ratio((i, "linear")))]
    assert relu_steady == [ANSWERS["relu_steady_init"]]
    assert linear_steady == [ANSWERS["linear_steady_init"]]
    assert _trend(activation_ratio(("he_normal", "linear"))) == ANSWERS["linear_he_activations"]
    assert _trend(gradient_ratio(("normal_0.01", "tanh"))) == ANSWERS["tanh_small_init_gradients"]


def test_every_answer_is_one_of_its_choices():
    assert len(SPREAD_QUESTIONS) in (3, 4)
    for question in SPREAD_QUESTIONS.values():
        assert question.answer in question.choices


def test_right_answers_pass_whatever_the_case(capsys):
    assert check_spread_conclusions(ANSWERS).startswith("OK")
    assert "OK conclusions" in capsys.readouterr().out
    shouted = {key: f"  {value.upper()} " for key, value in ANSWERS.items()}
    assert check_spread_conclusions(shouted, quiet=True).startswith("OK")


@pytest.mark.parametrize("key", list(SPREAD_QUESTIONS))
def test_each_wrong_answer_is_named_with_its_hint(key):
    question = SPREAD_QUESTIONS[key]
    wrong = next(choice for choice in question.choices if choice != question.answer)
    with pytest.raises(GradingError) as info:
        check_spread_conclusions(ANSWERS | {key: wrong})
    message = str(info.value)
    assert f"{key!r} = {wrong!r} is not right. {question.hint}" in message
    assert "1 of the conclusions" in message
    assert all(other not in message for other in SPREAD_QUESTIONS if other != key)


@pytest.mark.parametrize(("conclusions", "match"), [
    ({k: v for k, v in ANSWERS.items() if k != "relu_steady_init"}, "'relu_steady_init' is missing"),
    (ANSWERS | {"linear_he_activations": "grow"}, "'grow' is not one of the choices 'vanish' | 'explode' | 'stay'"),
    (ANSWERS | {"linear_he_activations": None}, "None is not one of the choices"),
    (ANSWERS | {"extra": "he_normal"}, "unknown keys ['extra']"),
    (["he_normal"], "conclusions must be a dict"),
])
def test_malformed_conclusions_are_explained(conclusions, match):
    with pytest.raises(GradingError) as info:
        check_spread_conclusions(conclusions)
    assert match in str(info.value)


def test_all_wrong_answers_are_listed_at_once():
    wrong = {key: next(c for c in q.choices if c != q.answer) for key, q in SPREAD_QUESTIONS.items()}
    with pytest.raises(GradingError) as info:
        check_spread_conclusions(wrong)
    assert f"{len(SPREAD_QUESTIONS)} of the conclusions" in str(info.value)
