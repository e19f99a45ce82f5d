"""Widgets for the lecture 'Regularization': penalties vs fit, dropout masks, double descent.

``regularization_explorer`` fits a polynomial to a few noisy points with an L2
(ridge, closed form) or L1 (lasso, proximal gradient) penalty
(``dlcourse.regression``); ``dropout_explorer`` draws inverted-dropout masks
on a digit and averages them; ``double_descent_explorer`` sweeps the number of
random ReLU features of a least-squares regression through the interpolation
threshold.

Sources: VU Amsterdam DLVU lecture 4 'Tools of the trade' (L1/L2, weight
decay, dropout, priors, double descent); J. Adamczyk, Deep learning lecture
notes (overfitting, double descent); Srivastava et al. 2014 (dropout);
Tibshirani 1996 (lasso); Beck & Teboulle 2009 (FISTA); Belkin et al. 2019
(double descent).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import ipywidgets as widgets
import numpy as np

from dlcourse._checks import check_choice, check_int, check_range
from dlcourse.data import load_digits
from dlcourse.layers import dropout_forward
from dlcourse.regression import fit_lasso, fit_ridge, legendre_features, polynomial_data
from dlcourse.training import one_blas_thread
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, number

__all__ = [
    "FEATURE_COUNTS", "STRENGTHS", "describe_double_descent", "describe_dropout", "describe_regularization",
    "double_descent_curve", "double_descent_explorer", "dropout_explorer", "dropout_masks", "regularization_explorer",
    "regularization_path",
]


# ------------------------------------------------------- penalties vs fit


STRENGTHS = 10.0 ** np.arange(-8.0, 1.01, 0.25)


@lru_cache(maxsize=64)
def regularization_path(degree: int, penalty: str) -> dict[str, np.ndarray]:
    """Fits of the cached ``polynomial_data`` for every strength in ``STRENGTHS``.

    Returns:
        dict with ``W`` (degree, S), ``b`` (S,), ``train_mse`` and ``val_mse`` (S,).
    """
    penalty = check_choice(penalty, "penalty", ("L2", "L1"))
    x_train, y_train, x_val, y_val = polynomial_data()
    features = legendre_features(x_train, degree)
    W, b = (fit_ridge if penalty == "L2" else fit_lasso)(features, y_train, STRENGTHS)
    mse = lambda x, y: ((legendre_features(x, degree) @ W + b - y[:, None]) ** 2).mean(axis=0)  # noqa: E731
    return {"W": W, "b": b, "train_mse": mse(x_train, y_train), "val_mse": mse(x_val, y_val)}


def _regularization_view(degree: int, penalty: str, strength: float) -> dict[str, Any]:
    path = regularization_path(degree, penalty)
    index = int(np.argmin(np.abs(np.log10(STRENGTHS) - np.log10(strength))))
    grid = np.linspace(-1, 1, 200)
    curve = legendre_features(grid, degree) @ path["W"][:, index] + path["b"][index]
    return {**path, "index": index, "grid": grid, "curve": curve}


def _draw_regularization(figure, data, degree, penalty, strength):
    axes = figure.subplots(1, 3, gridspec_kw={"left": 0.05, "right": 0.99, "bottom": 0.15, "top": 0.88,
                                                 "wspace": 0.25})
    x_train, y_train, x_val, y_val = polynomial_data()
    index = data["index"]
    ax = axes[0]
    ax.plot(x_val, y_val, ".", color="0.75", ms=3, label="validation")
    ax.plot(x_train, y_train, "o", color="k", ms=4, label="training")
    ax.plot(data["grid"], np.sin(np.pi * data["grid"]), ":", color=PALETTE["green"], label="sin(pi x)")
    ax.plot(data["grid"], data["curve"], color=PALETTE["blue"], lw=2, label="fit")
    ax.set(ylim=(-2, 2), xlabel="x", title=f"degree {degree}, {penalty}, lambda = {STRENGTHS[index]:.0e}")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[1]
    log_strength = np.log10(STRENGTHS)
    ax.plot(log_strength, data["train_mse"], color="k", label="training")
    ax.plot(log_strength, data["val_mse"], "--", color=PALETTE["orange"], label="validation")
    ax.axvline(log_strength[index], color=PALETTE["blue"])
    ax.set(ylim=(0, 1.0), xlabel="log10 lambda", title="mean squared error")
    ax.legend(fontsize=8)
    ax = axes[2]
    w = data["W"][:, index]
    nonzero = np.abs(w) > 1e-10
    ax.bar(np.arange(1, degree + 1), w, color=np.where(nonzero, PALETTE["blue"], "0.7"))
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="Legendre coefficient k", xlim=(0.3, 15.7),
           title=f"weights: {nonzero.sum()} of {degree} nonzero, |w|_1 = {np.abs(w).sum():.2f}")


def describe_regularization(data: dict[str, Any], degree: int, penalty: str, strength: float) -> str:
    """The figure in words: the errors at the chosen strength and at the best one, and the weights."""
    index = data["index"]
    best = int(np.argmin(data["val_mse"]))
    w = data["W"][:, index]
    return (f"A degree-{degree} polynomial fitted to 15 noisy points of sin(pi x) with an {penalty} penalty, "
            f"lambda = {STRENGTHS[index]:.0e} (left: the fit, the data and sin(pi x)). Middle: mean squared error "
            f"against log10 lambda; at this lambda training {number(data['train_mse'][index])}, validation "
            f"{number(data['val_mse'][index])}; the lowest validation error, {number(data['val_mse'][best])}, is at "
            f"lambda = {STRENGTHS[best]:.0e}. Right: the {degree} Legendre weights, "
            f"{int(np.sum(np.abs(w) > 1e-10))} nonzero, |w|_1 = {np.abs(w).sum():.2f}, largest |w| "
            f"{number(np.abs(w).max())}.")


@register
def regularization_explorer(degree: int = 12, penalty: str = "L2", strength: float = 1e-3) -> Explorer:
    """Regularization strength vs fit: a degree-d polynomial on 15 noisy points of sin(pi x).

    Panels: the fit; training and validation error over the strength; the
    weights (an L1 penalty sets some exactly to 0).

    Update time: median 90 ms, max 98 ms over the 10 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    The first view's lasso path is fitted when the widget is built; a new degree's takes
    about 60 ms of FISTA once (150 ms for that update), later visits are cached.
    """
    regularization_path(degree, "L1")  # the first view's lasso path (~60 ms of FISTA), so that the penalty toggles
    controls = {
        "degree": widgets.IntSlider(value=degree, min=1, max=15, description="degree"),
        "penalty": widgets.Dropdown(options=["L2", "L1"], value=penalty, description="penalty"),
        "strength": widgets.FloatLogSlider(value=strength, base=10, min=-8, max=1, step=0.25,
                                           description="lambda", readout_format=".0e"),
    }
    return Explorer(controls, _regularization_view, _draw_regularization, figsize=(13.0, 3.8),
                    description="Polynomial regression with an L2 or L1 penalty", describe=describe_regularization)


# ------------------------------------------------------------------ dropout


@lru_cache(maxsize=1)
def _digit() -> np.ndarray:
    return load_digits()[0][0]


def dropout_masks(p: float, seed: int, n_masks: int) -> dict[str, np.ndarray]:
    """Inverted dropout (``dlcourse.layers.dropout_forward``) applied ``n_masks`` times to one digit.

    Returns:
        dict with ``x`` (64,), ``multipliers`` (n_masks, 64: 0 or 1/(1-p)),
        ``outputs`` (n_masks, 64), ``average`` (64, the mean output; -> x as
        n_masks grows), ``totals`` (n_masks, the summed output of each draw)
        and ``running_total`` (their running mean; -> sum(x)).
    """
    x = _digit()
    p = check_range(p, "p", 0.0, 1.0, high_inclusive=False)
    n_masks = check_int(n_masks, "n_masks", 1)
    outputs, multipliers = dropout_forward(np.broadcast_to(x, (n_masks, x.size)), p, True,
                                           np.random.default_rng(seed))
    totals = outputs.sum(axis=1)
    return {"x": x, "multipliers": multipliers, "outputs": outputs, "average": outputs.mean(axis=0),
            "totals": totals, "running_total": np.cumsum(totals) / np.arange(1, n_masks + 1)}


def _draw_dropout(figure, data, p, seed, n_masks):
    axes = figure.subplots(1, 5, gridspec_kw={"left": 0.02, "right": 0.99, "bottom": 0.15, "top": 0.85, "wspace": 0.25,
                                              "width_ratios": [1, 1, 1, 1, 1.8]})
    scale = 1 / (1 - p)
    images = [(data["x"], "input x (eval mode: out = x)", 1.0),
              (data["multipliers"][0], f"mask * 1/(1-p) = {scale:.2f}", scale),
              (data["outputs"][0], "train mode: one draw", scale), (data["average"], f"mean of {n_masks} draws", 1.0)]
    for ax, (image, title, vmax) in zip(axes, images, strict=False):  # the fifth axes is the plot of sums
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=max(vmax, 1e-9))
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    kept = (data["multipliers"][0] > 0).mean()
    axes[1].set_title(f"mask * 1/(1-p) = {scale:.2f}\nkept {kept:.0%} (expected {1 - p:.0%})", fontsize=9)
    ax = axes[4]
    draws = np.arange(1, n_masks + 1)
    total = data["x"].sum()
    ax.plot(draws, data["totals"], color="0.75", lw=0.6, label="sum of one draw's output")
    ax.plot(draws, data["running_total"], color=PALETTE["blue"], label="running mean (inverted dropout)")
    ax.plot(draws, data["running_total"] * (1 - p), "-.", color=PALETTE["vermillion"],
            label="running mean without 1/(1-p)")
    ax.axhline(total, color="k", ls="--", lw=1, label="sum of x (eval mode)")
    ax.set(xscale="linear", xlabel="number of draws", ylim=(0, 2.2 * total),
           title="the expected activation is preserved")
    ax.legend(fontsize=7, loc="upper right")


def describe_dropout(data: dict[str, np.ndarray], p: float, seed: int, n_masks: int) -> str:
    """The figure in words: what one mask keeps, and how close the mean of the draws comes to the input."""
    kept = (data["multipliers"][0] > 0).mean()
    total, running = data["x"].sum(), data["running_total"][-1]
    return (f"Inverted dropout with p = {number(p)} on an 8 by 8 digit: one mask (seed {seed}) keeps {kept:.0%} of "
            f"the pixels (expected {1 - p:.0%}) and multiplies them by 1/(1 − p) = {number(1 / (1 - p))}; the mean "
            f"of {n_masks} draws is off the input by {number(np.abs(data['average'] - data['x']).mean())} per pixel "
            f"on average (pixels 0 to {number(data['x'].max())}). Right: the summed output, its running mean after "
            f"{n_masks} draws {number(running)}, without the 1/(1 − p) {number(running * (1 - p))}, the input's sum "
            f"(eval mode) {number(total)}.")


@register
def dropout_explorer(p: float = 0.5, seed: int = 0, n_masks: int = 100) -> Explorer:
    """Inverted dropout on an 8x8 digit: the mask, one output, and the mean over many masks.

    Update time: median 80 ms, max 84 ms over the 13 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    controls = {
        "p": widgets.FloatSlider(value=p, min=0.0, max=0.9, step=0.05, description="p (drop)"),
        "seed": widgets.IntSlider(value=seed, min=0, max=20, description="mask seed"),
        "n_masks": widgets.SelectionSlider(options=[1, 10, 100, 1000], value=n_masks, description="draws"),
    }
    return Explorer(controls, dropout_masks, _draw_dropout, figsize=(13.0, 3.0),
                    description="Inverted dropout: p is the probability of dropping (torch)", describe=describe_dropout)


# ---------------------------------------------------------- double descent


_TRAINING_SET_SIZES = (20, 40, 80)
# log-spaced, plus the interpolation thresholds p = n_train themselves
FEATURE_COUNTS = np.union1d(np.round(np.geomspace(2, 800, 36)).astype(int), _TRAINING_SET_SIZES)


@lru_cache(maxsize=16)
def _random_feature_svds(n_train: int, seeds: int, input_dim: int, n_test: int):
    """``_random_feature_problem`` for every seed (cached: the SVDs are the expensive part)."""
    problems = []
    # one BLAS thread: for matrices this small a second thread costs more than it saves
    with one_blas_thread():
        for seed in range(seeds):
            problems.append(_random_feature_problem(seed, n_train, input_dim, n_test))
    return problems


def _random_feature_problem(seed: int, n_train: int, input_dim: int, n_test: int):
    """Data of one seed, and per feature count the SVD (u, s, vt) of the training features and phi_test @ vt.T."""
    rng = np.random.default_rng(seed)
    x_train, x_test = rng.standard_normal((n_train, input_dim)), rng.standard_normal((n_test, input_dim))
    teacher = rng.standard_normal(input_dim) / np.sqrt(input_dim)
    noise_train = rng.standard_normal(n_train)
    projection = rng.standard_normal((input_dim, FEATURE_COUNTS[-1])) / np.sqrt(input_dim)
    fits = []
    for p in FEATURE_COUNTS:
        # ReLU random features, scaled so that a prediction's variance does not grow with p
        phi_train = np.maximum(x_train @ projection[:, :p], 0) / np.sqrt(p)
        phi_test = np.maximum(x_test @ projection[:, :p], 0) / np.sqrt(p)
        u, s, vt = np.linalg.svd(phi_train, full_matrices=False)
        fits.append((u, s, phi_test @ vt.T))  # w lies in the row space of phi_train: keep its coordinates
    return np.tanh(2 * x_train @ teacher), noise_train, np.tanh(2 * x_test @ teacher), fits


def double_descent_curve(
    noise: float = 0.2, ridge: float = 0.0, n_train: int = 40, seeds: int = 3, input_dim: int = 10, n_test: int = 500
) -> dict[str, np.ndarray]:
    """Test error of random-features regression as the number of features p sweeps past n_train.

    Data: x ~ N(0, I_d), y = tanh(2 x . a) + noise * N(0, 1) for a random
    teacher a.  Model: y_hat = phi(x) . w with p random ReLU features
    phi(x) = relu(x V) / sqrt(p) (V fixed, Gaussian; only w is fitted), by

        w = argmin ||y - Phi w||^2 + ridge ||w||^2   (ridge = 0: the minimum-norm least-squares solution)
          = V_s diag(s / (s^2 + ridge)) U^T y        from the SVD Phi = U diag(s) V_s^T.

    At p = n_train the features just suffice to interpolate the noisy
    training data; the interpolating w is then huge and the test error peaks.
    Past it, among ever more interpolating solutions the minimum-norm one
    gets smoother and the error falls again (double descent).  A ridge
    penalty removes the peak.

    Args:
        noise: label noise std, >= 0.
        ridge: penalty strength, >= 0.
        n_train: training examples (>= 2; the peak is at p = n_train).
        seeds: independent repetitions averaged (>= 1).
        input_dim, n_test: input dimension and number of test points.

    Returns:
        dict with ``feature_counts`` (P,), ``train_mse`` and ``test_mse`` (P,),
        means over seeds, ``weight_norm`` (P,), the mean ||w||, and ``n_train``.

    Source: Belkin, Hsu, Ma & Mandal, "Reconciling modern machine-learning
    practice and the classical bias-variance trade-off", PNAS 2019; J.
    Adamczyk, Deep learning lecture notes (the double-descent bump at
    parameters ~ data); VU Amsterdam DLVU lecture 4.
    """
    noise = check_range(noise, "noise", 0.0)
    ridge = check_range(ridge, "ridge", 0.0)
    n_train, seeds = check_int(n_train, "n_train", 2), check_int(seeds, "seeds", 1)
    results = np.zeros((3, len(FEATURE_COUNTS)))
    for y_clean, noise_train, y_test, fits in _random_feature_svds(n_train, seeds, input_dim, n_test):
        y = y_clean + noise * noise_train
        for j, (u, s, test_coordinates) in enumerate(fits):
            # directions with a numerically zero singular value are left out (as the minimum-norm solution does)
            keep = s > s[0] * 1e-12
            coordinates = s[keep] / (s[keep] ** 2 + ridge) * (u[:, keep].T @ y)  # w = vt[keep].T @ coordinates
            train_prediction = u[:, keep] @ (s[keep] * coordinates)
            test_prediction = test_coordinates[:, keep] @ coordinates
            results[:, j] += [np.mean((train_prediction - y) ** 2), np.mean((test_prediction - y_test) ** 2),
                              np.linalg.norm(coordinates)]
    train_mse, test_mse, weight_norm = results / seeds
    return {"feature_counts": FEATURE_COUNTS, "train_mse": train_mse, "test_mse": test_mse,
            "weight_norm": weight_norm, "n_train": n_train}


def _draw_double_descent(figure, data, noise, ridge, n_train):
    axes = figure.subplots(1, 2, gridspec_kw={"left": 0.07, "right": 0.99, "bottom": 0.15, "top": 0.88,
                                                 "wspace": 0.2})
    log_p = np.log10(data["feature_counts"])
    ax = axes[0]
    ax.plot(log_p, data["train_mse"], "k.-", ms=3, label="training")
    ax.plot(log_p, data["test_mse"], "s-.", color=PALETTE["orange"], ms=3, label="test")
    ax.axvline(np.log10(n_train), color=PALETTE["blue"], ls="--", lw=1, label=f"p = n_train = {n_train}")
    ax.set(ylim=(0, 1.5), xlabel="log10 (number of features p)", title="mean squared error")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(log_p, np.log10(data["weight_norm"]), ".-", color=PALETTE["purple"], ms=3)
    ax.axvline(np.log10(n_train), color=PALETTE["blue"], ls="--", lw=1)
    ax.set(xlabel="log10 (number of features p)", title="log10 ||w|| of the fitted weights")


def describe_double_descent(data: dict[str, Any], noise: float, ridge: float, n_train: int) -> str:
    """The figure in words: where the test error and the weights peak, and the errors at the ends."""
    p, test, train, norm = data["feature_counts"], data["test_mse"], data["train_mse"], data["weight_norm"]
    peak, low, threshold = int(np.argmax(test)), int(np.argmin(test)), int(np.searchsorted(p, n_train))
    return (f"Random ReLU features regression on {n_train} training points, label noise {number(noise)}, ridge "
            f"{number(ridge)}, for p = {p[0]} to {p[-1]} features (log scale). Left: test error {number(test[0])} "
            f"at p = {p[0]}, highest {number(test[peak])} at p = {p[peak]}, {number(test[threshold])} at p = "
            f"n_train = {n_train}, lowest {number(test[low])} at p = {p[low]}, {number(test[-1])} at p = {p[-1]}; "
            f"training error {number(train[threshold])} at p = n_train and {number(train[-1])} at p = {p[-1]}. "
            f"Right: the norm of the fitted weights, largest {number(norm.max())} at p = {p[int(np.argmax(norm))]}.")


@register
def double_descent_explorer(noise: float = 0.2, ridge: float = 0.0, n_train: int = 40) -> Explorer:
    """Double descent in random-features regression: label noise, a ridge penalty and the training-set size.

    Update time: median 60 ms, max 64 ms over the 13 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    for size in _TRAINING_SET_SIZES:  # the SVDs, once per training-set size
        double_descent_curve(n_train=size)
    controls = {
        "noise": widgets.SelectionSlider(options=[0.0, 0.1, 0.2, 0.5], value=noise, description="label noise"),
        "ridge": widgets.SelectionSlider(options=[0.0, 1e-4, 1e-3, 1e-2, 1e-1], value=ridge, description="ridge"),
        "n_train": widgets.SelectionSlider(options=_TRAINING_SET_SIZES, value=n_train, description="n_train"),
    }
    return Explorer(controls, lambda noise, ridge, n_train: double_descent_curve(noise, ridge, n_train),
                    _draw_double_descent, figsize=(11.0, 3.6),
                    description="Random ReLU features, least squares: test error against the number of features",
                    describe=describe_double_descent)
