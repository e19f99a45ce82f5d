"""Adam's bias correction: the moving averages m and v with and without it, over the first steps.

``bias_correction_explorer`` draws Adam's first and second moments of a
constant or a noisy gradient, raw and bias-corrected, and the step they
give (``adam_moments``).

Lectures: VU Amsterdam DLVU lecture 4 'Tools of the trade' (Adam, bias
correction); Kingma & Ba (2015), section 3.
"""

from __future__ import annotations

import functools
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.figure import Figure

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.optim._common import check_decay
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, number, plain_log_ticks, sparse_ticks
from dlcourse.widgets.momentum import fixed_layout, set_initial_values

__all__ = [
    "GRADIENTS", "adam_moments", "bias_correction_data", "bias_correction_explorer", "describe_bias_correction",
    "draw_bias_correction",
]


def adam_moments(
    gradients: np.ndarray, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
) -> dict[str, np.ndarray]:
    """Adam's moving averages for a sequence of scalar gradients, with and without bias correction.

    Equations (t = 1, 2, ...; m_0 = v_0 = 0)::

        m_t = beta1 m_{t-1} + (1 - beta1) g_t       m_hat_t = m_t / (1 - beta1^t)
        v_t = beta2 v_{t-1} + (1 - beta2) g_t^2     v_hat_t = v_t / (1 - beta2^t)

    Args:
        gradients: 1-D float array g_1, ..., g_T.
        beta1, beta2: decays in [0, 1).
        eps: ``> 0``, added outside the root as in torch.

    Returns:
        dict of arrays of length T: ``m``, ``v``, ``m_hat``, ``v_hat``,
        ``step`` = m_hat / (sqrt(v_hat) + eps) (Adam's step per unit of lr),
        ``step_uncorrected`` = m / (sqrt(v) + eps).

    Notes:
        Because m and v start at 0, E[m_t] = (1 - beta1^t) E[g] and
        E[v_t] = (1 - beta2^t) E[g^2]: the raw averages are biased toward zero.
        The uncorrected step is (1 - beta1^t) / sqrt(1 - beta2^t) times too
        large (about 3.2 at t = 1 with the default betas): v is more biased
        than m because beta2 is closer to 1.

    Source:
        Kingma & Ba (2015), "Adam: a method for stochastic optimization",
        section 3; torch.optim.Adam.  Lecture: VU Amsterdam DLVU lecture 4
        'Tools of the trade' (bias correction).
    """
    g = np.asarray(gradients, dtype=np.float64)
    if g.ndim != 1 or g.size == 0:
        raise ValueError(f"gradients must be a non-empty 1-D array, got shape {g.shape}")
    beta1, beta2 = check_decay(beta1, "beta1"), check_decay(beta2, "beta2")
    eps = check_range(eps, "eps", 0.0, low_inclusive=False)
    m, v = _moving_average(g, beta1), _moving_average(g * g, beta2)
    t = np.arange(1, g.size + 1)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return {"m": m, "v": v, "m_hat": m_hat, "v_hat": v_hat,
            "step": m_hat / (np.sqrt(v_hat) + eps), "step_uncorrected": m / (np.sqrt(v) + eps)}


def _moving_average(values: np.ndarray, beta: float) -> np.ndarray:
    """a_t = beta a_{t-1} + (1 - beta) x_t from a_0 = 0 (a recursion: a short Python loop over scalars)."""
    averages = np.empty_like(values)
    average = 0.0
    for t, value in enumerate(values.tolist()):
        average = beta * average + (1.0 - beta) * value
        averages[t] = average
    return averages


#: Gradient sequences of the bias-correction widget: name -> (mean, standard deviation).
GRADIENTS = {"constant g = 1": (1.0, 0.0), "noisy g ~ N(1, 2^2)": (1.0, 2.0)}


@functools.lru_cache(maxsize=8)
def _noise(steps: int) -> np.ndarray:
    noise = np.random.default_rng(0).standard_normal(steps)
    noise.setflags(write=False)
    return noise


def bias_correction_data(gradient: str = "constant g = 1", beta1: float = 0.9, beta2: float = 0.999,
                         steps: int = 1000) -> dict[str, Any]:
    """Adam's moments for ``steps`` gradients of the kind ``gradient`` (a key of ``GRADIENTS``, seeded noise).

    Returns ``adam_moments``'s arrays plus ``t``, ``g``, ``mean`` = E[g] and
    ``mean_square`` = E[g^2] of the distribution.
    """
    mean, std = GRADIENTS[check_choice(gradient, "gradient", tuple(GRADIENTS))]
    steps = check_int(steps, "steps", 1)
    g = mean + std * _noise(steps)
    return {**adam_moments(g, beta1, beta2), "t": np.arange(1, steps + 1), "g": g,
            "mean": mean, "mean_square": mean**2 + std**2}


def draw_bias_correction(figure: Figure, data: dict[str, Any], beta1: float = 0.9, beta2: float = 0.999,
                         **values: Any) -> None:
    """m and m_hat (left), sqrt(v) and sqrt(v_hat) (middle), the step with and without correction (right)."""
    axes = fixed_layout(figure, 3, (1, 1, 1), left=0.05, right=0.98, wspace=0.25)
    # At most ~800 log-spaced steps are drawn: on the log axis the rest would
    # land on the same pixels and only cost time.
    shown = np.unique(np.geomspace(1, data["t"][-1], 800).round().astype(int)) - 1
    data = {key: value[shown] if isinstance(value, np.ndarray) else value for key, value in data.items()}
    t = data["t"]
    noisy = bool(np.ptp(data["g"]) > 0)
    panels = (
        (data["m"], data["m_hat"], data["mean"], "first moment", "m", "m_hat", "E[g]"),
        (np.sqrt(data["v"]), np.sqrt(data["v_hat"]), np.sqrt(data["mean_square"]), "root of the second moment",
         "sqrt(v)", "sqrt(v_hat)", "sqrt(E[g^2])"),
        (data["step_uncorrected"], data["step"], data["mean"] / np.sqrt(data["mean_square"]),
         "step / lr", "m / sqrt(v)", "m_hat / (sqrt(v_hat) + eps)", "E[g] / sqrt(E[g^2])"),
    )
    for ax, (raw, corrected, target, title, raw_label, corrected_label, target_label) in zip(axes, panels, strict=True):
        if noisy and ax is axes[0]:
            ax.plot(t, data["g"], color="0.85", linewidth=0.6, label="g")
        ax.plot(t, raw, color=PALETTE["vermillion"], linestyle="--", label=f"{raw_label} (biased)")
        ax.plot(t, corrected, color=PALETTE["blue"], label=corrected_label)
        ax.axhline(target, color=PALETTE["black"], linestyle=":", label=target_label)
        ax.set_xscale("log")
        plain_log_ticks(ax.xaxis)
        sparse_ticks(ax.yaxis)
        ax.set(xlabel="step t", title=title)
        ax.title.set_fontsize(10)
        ax.legend(fontsize=7.5, loc="best")
        ax.grid(True, alpha=0.3)
    if noisy:
        axes[0].set_ylim(-1.5, 3.5)
    factor = (1 - beta1) / np.sqrt(1 - beta2)
    axes[2].set_title(f"step / lr; at t = 1 the uncorrected step is {factor:.2g}x", fontsize=10)


def describe_bias_correction(data: dict[str, Any], gradient: str, beta1: float, beta2: float, steps: int) -> str:
    """The figure in words: m, sqrt(v) and the step, raw and corrected, at t = 1, 10, 100, ... and the last step."""
    shown = sorted({t for t in (1, 10, 100, 1000) if t <= steps} | {steps})

    def at(key: str, root: bool = False) -> str:
        values = np.sqrt(data[key]) if root else data[key]
        return ", ".join(f"{number(values[t - 1])}" for t in shown)

    factor = (1 - beta1) / np.sqrt(1 - beta2)
    return (f"Adam's moving averages of a {gradient} gradient, beta1 = {number(beta1)}, beta2 = {number(beta2)}, "
            f"over {steps} steps (log step axis), at t = {', '.join(map(str, shown))}: m (biased) {at('m')}; "
            f"m_hat {at('m_hat')}; target E[g] = {number(data['mean'])}. sqrt(v) (biased) {at('v', True)}; "
            f"sqrt(v_hat) {at('v_hat', True)}; target {number(np.sqrt(data['mean_square']))}. Step / lr, "
            f"uncorrected {at('step_uncorrected')}; corrected {at('step')}; target "
            f"{number(data['mean'] / np.sqrt(data['mean_square']))}. At t = 1 the uncorrected step is "
            f"(1 − beta1)/sqrt(1 − beta2) = {number(factor, 2)} times the corrected one.")


@register
def bias_correction_explorer(**initial: Any) -> Explorer:
    """Adam's m and v with and without bias correction, for a constant or a noisy gradient.

    Controls (keyword arguments set their initial values): ``gradient`` (a key
    of ``GRADIENTS``), ``beta1`` (0..0.99), ``beta2`` (0.9, 0.99, 0.999,
    0.9999), ``steps`` (10..5000, log axis).

    Update time: median 90 ms, max 97 ms over the 15 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "gradient": widgets.Dropdown(options=tuple(GRADIENTS), value="constant g = 1", description="gradient"),
        "beta1": widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="beta1",
                                     continuous_update=False),
        "beta2": widgets.SelectionSlider(options=(0.9, 0.99, 0.999, 0.9999), value=0.999, description="beta2",
                                         continuous_update=False),
        "steps": widgets.IntSlider(value=1000, min=10, max=5000, step=10, description="steps",
                                   continuous_update=False),
    }
    set_initial_values(controls, initial, "bias_correction_explorer")
    return Explorer(controls, bias_correction_data, draw_bias_correction, figsize=(13.0, 4.2),
                    description="Adam's bias correction: the moving averages start at 0",
                    describe=describe_bias_correction)
