"""Lecture 10, 'Why it works at all': Newton's method, loss-landscape slices, memorization, lottery tickets.

Widget:

* ``newton_explorer``: Newton's method against gradient descent on 2-D
  surfaces (quadratic, ravine, Rosenbrock, saddle), with the Hessian by
  central differences of the surfaces' analytic gradients.  On the saddle,
  Newton walks straight INTO the saddle point; damping that makes H + lambda I
  positive definite turns it back into a descent method.

Experiments the lecture runs (small by default, the full size one argument
away): ``loss_along_line`` with ``random_direction`` and
``permute_hidden_units`` (non-convexity), ``final_loss_spread`` (Choromanska et
al.: large networks find equally good minima), ``memorization`` with
``shuffle_labels`` (Zhang et al.), ``magnitude_masks``, ``lottery_ticket`` and
``prune_accuracy`` (Frankle & Carbin).

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (why does any of this
work: memorization, lottery tickets, pruning; Newton's method);
Univ. of Macau 'Modern Techniques' (deep learning as a science, optimization
is hard, Choromanska et al.).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import ipywidgets as widgets
import numpy as np

from dlcourse._checks import as_float_array, check_choice, check_int, check_range, check_rng
from dlcourse.layers import MLP, softmax_cross_entropy
from dlcourse.optim import sgd_init, sgd_step
from dlcourse.surfaces import Surface, get_surface, run
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import fixed_margins, one_blas_thread, plain_log_ticks
from dlcourse.widgets.practice import accuracy, digits_data, stack_params, train, train_stacked

__all__ = [
    "NEWTON_SURFACES", "hessian", "newton_step", "newton_path", "newton_view", "draw_newton", "newton_explorer",
    "loss_along_line", "random_direction", "permute_hidden_units", "final_loss_spread",
    "shuffle_labels", "memorization", "magnitude_masks", "lottery_ticket", "prune_accuracy",
]


# ------------------------------------------------------------------ Newton

NEWTON_SURFACES = ("quadratic", "ravine", "rosenbrock", "saddle")
# Off the saddle's attracting axis, so gradient descent visibly escapes while Newton does not.
_STARTS = {"saddle": (-1.5, 0.6)}


def hessian(surface: Surface | str, xy: Any, h: float = 1e-5) -> np.ndarray:
    """Hessian of a 2-D surface by central differences of its analytic gradient.

        H[..., :, j] = (grad(xy + h e_j) - grad(xy - h e_j)) / (2 h),   then H <- (H + H^T) / 2

    Args:
        surface: a ``dlcourse.surfaces.Surface`` or its name.
        xy: point(s) of shape (..., 2).
        h: step (> 0).  The error is O(h^2) (third derivatives) plus
            rounding of about eps * |grad| / h: 1e-5 balances them for these
            surfaces (entries correct to about 1e-7 relative).

    Returns:
        (..., 2, 2) symmetric Hessians.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    xy = as_float_array(xy, "xy")
    if xy.shape[-1:] != (2,):
        raise ValueError(f"xy must have shape (..., 2), got {xy.shape}")
    h = check_range(h, "h", 0.0, low_inclusive=False)
    columns = [(surface.grad(xy + e) - surface.grad(xy - e)) / (2 * h) for e in h * np.eye(2)]
    H = np.stack(columns, axis=-1)
    return (H + np.swapaxes(H, -1, -2)) / 2


def newton_step(
    theta: np.ndarray, grad: np.ndarray, hess: np.ndarray, *, lr: float = 1.0, damping: float = 0.0
) -> np.ndarray:
    """One (damped) Newton step: theta - lr * (H + damping I)^{-1} grad.

    From the second-order Taylor expansion
        f(theta + d) ~ f(theta) + grad^T d + 1/2 d^T H d,
    whose stationary point is d = -H^{-1} grad.  That point is a minimum of the
    model only if H is positive definite; at a saddle it is the saddle.
    Damping (Levenberg-Marquardt) adds ``damping`` to every eigenvalue.

    Args:
        theta: (n,) parameters; grad: (n,); hess: (n, n).
        lr: step size (Newton's method proper: 1).
        damping: lambda >= 0.

    Returns:
        new theta (n,); nan if H + damping I is singular.
    """
    theta, grad, hess = (as_float_array(v, name) for v, name in ((theta, "theta"), (grad, "grad"), (hess, "hess")))
    n = theta.shape[0]
    if theta.shape != (n,) or grad.shape != (n,) or hess.shape != (n, n):
        raise ValueError(
            f"theta and grad must have shape (n,) and hess (n, n), got {theta.shape}, {grad.shape}, {hess.shape}"
        )
    lr, damping = check_range(lr, "lr", 0.0), check_range(damping, "damping", 0.0)
    try:
        return theta - lr * np.linalg.solve(hess + damping * np.eye(n), grad)
    except np.linalg.LinAlgError:
        return np.full_like(theta, np.nan)


def newton_path(
    surface: Surface | str, start: Any = None, steps: int = 20, *, lr: float = 1.0, damping: float = 0.0
) -> np.ndarray:
    """Trajectory of ``newton_step`` on a surface, start included: shape (steps + 1, 2).

    As ``dlcourse.surfaces.run``: once a step is not finite (a singular
    H + damping I, an overflow), that row and all later rows are nan.
    """
    surface = get_surface(surface) if isinstance(surface, str) else surface
    theta = as_float_array(surface.default_start if start is None else start, "start")
    steps = check_int(steps, "steps", 0)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = theta
    with np.errstate(all="ignore"):
        for t in range(1, steps + 1):
            theta = newton_step(theta, surface.grad(theta), hessian(surface, theta), lr=lr, damping=damping)
            if not np.isfinite(theta).all():
                break
            path[t] = theta
    return path


@functools.lru_cache(maxsize=len(NEWTON_SURFACES))
def _contour_grid(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    surface = get_surface(name)
    (x0, x1), (y0, y1) = surface.bounds
    X, Y = np.meshgrid(np.linspace(x0, x1, 120), np.linspace(y0, y1, 120))
    Z = surface.f(np.stack((X, Y), axis=-1))
    for array in (X, Y, Z):
        array.flags.writeable = False
    return X, Y, Z


def newton_view(surface: str, steps: int, lr: float, damping: float) -> dict[str, Any]:
    """Gradient descent (learning rate ``lr``) and damped Newton (step 1) from the same start.

    Returns:
        dict with gd and newton trajectories (steps + 1, 2), their losses, the
        Hessian eigenvalues at the start and at Newton's last finite point
        (newton_end) and the gradient norm there, the start, the surface's
        minima and bounds, and the contour grid (X, Y, Z).
    """
    surface = get_surface(check_choice(surface, "surface", NEWTON_SURFACES))
    start = np.array(_STARTS.get(surface.name, surface.default_start))
    gd = run(sgd_step, sgd_init, surface, start=start, steps=steps, lr=lr)
    newton = newton_path(surface, start, steps, damping=damping)
    last = newton[np.isfinite(newton[:, 0])][-1]
    with np.errstate(all="ignore"):
        losses = {name: surface.f(path) for name, path in (("gd", gd), ("newton", newton))}
    return {
        "gd": gd, "newton": newton, "gd_loss": losses["gd"], "newton_loss": losses["newton"], "start": start,
        "eig_start": np.linalg.eigvalsh(hessian(surface, start)), "eig_end": np.linalg.eigvalsh(hessian(surface, last)),
        "newton_end": last, "newton_end_grad_norm": float(np.linalg.norm(surface.grad(last))), "minima": surface.minima, "grid": _contour_grid(surface.name), "bounds": surface.bounds,
    }


def draw_newton(figure: Any, data: dict[str, Any], surface: str, steps: int, lr: float, damping: float) -> None:
    """Trajectories on the contours (left) and the loss per step (right)."""
    fixed_margins(figure, left=0.06, right=0.98, bottom=0.11, top=0.88, wspace=0.22)
    path_ax, loss_ax = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    eig_start, eig_end = data["eig_start"], data["eig_end"]
    X, Y, Z = data["grid"]
    if surface == "saddle":
        path_ax.contour(X, Y, Z, levels=np.linspace(-4, 4, 17), cmap="RdBu_r", linewidths=0.8)
        path_ax.plot(0, 0, "kP", ms=10, label="saddle point (0, 0)")
    else:
        path_ax.contour(X, Y, Z, levels=np.geomspace(max(Z.min(), 1e-3), Z.max(), 18), cmap="viridis", linewidths=0.8)
        path_ax.plot(*np.array(data["minima"]).T, "k*", ms=12, label="minimum")
    path_ax.plot(*data["gd"].T, ".-", color="C0", ms=4, lw=1.2, label=f"gradient descent, lr = {lr:.3g}")
    path_ax.plot(*data["newton"].T, "o-", color="C3", ms=4, lw=1.5,
                 label="Newton" + (f", damping {damping:.2g}" if damping else ""))
    path_ax.plot(*data["start"], "ks", ms=7, label="start")
    (x0, x1), (y0, y1) = data["bounds"]
    path_ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="x", ylabel="y", title=f"{surface}: {steps} steps each")
    path_ax.legend(fontsize=8, loc="lower right" if surface == "rosenbrock" else "upper right")
    # Exact zeros would fall off a log axis, and a run that leaves (diverges, or runs down the saddle)
    # would squash everything else: values beyond +-limit are cut and the exit is marked with an x.
    floor = -np.inf if surface == "saddle" else 1e-16
    limit = 1e4 * max(abs(float(data["gd_loss"][0])), 1.0)
    for name, color, label in (("gd_loss", "C0", "gradient descent"), ("newton_loss", "C3", "Newton")):
        loss = np.maximum(data[name], floor)
        inside = np.isfinite(loss) & (np.abs(loss) <= limit)
        loss_ax.plot(np.arange(steps + 1), np.where(inside, loss, np.nan), ".-" if name == "gd_loss" else "o-",
                     color=color, ms=4, label=label)
        if not inside.all():
            exit_step = int(np.argmin(inside))
            sign = np.sign(loss[exit_step]) if np.isfinite(loss[exit_step]) else 1.0
            loss_ax.plot(exit_step, sign * limit, "x", color=color, ms=10, mew=2)
    if surface == "saddle":  # unbounded below
        loss_ax.set_yscale("symlog", linthresh=1e-2)
    else:
        loss_ax.set_yscale("log")
    plain_log_ticks(loss_ax.yaxis)
    if eig_end[0] < 0 < eig_end[1] and data["newton_end_grad_norm"] < 1e-8:  # stationary, and not a minimum
        path_ax.annotate("Newton converged\nto a SADDLE point", data["newton_end"], (0.5, 0.15), color="C3",
                         textcoords="axes fraction", fontsize=10, arrowprops={"arrowstyle": "->", "color": "C3"})
    loss_ax.set(xlabel="step", ylabel="f(x, y)   (x: left the plot)",
                title=f"Hessian eigenvalues: at the start {eig_start[0]:.3g}, {eig_start[1]:.3g};\n"
                      f"at Newton's last point {eig_end[0]:.3g}, {eig_end[1]:.3g}")
    loss_ax.title.set_fontsize(10)  # no second legend: the colours are those of the left panel


@register
def newton_explorer(surface: str = "quadratic", steps: int = 20, lr: float = 0.05, damping: float = 0.0) -> Explorer:
    """Newton's method vs gradient descent on 2-D surfaces: one step on a quadratic, drawn into saddles.

    Update time, measured via ``Explorer.update_times`` over 16 updates (every
    control, 4 rounds) on a 2-core machine shared with other jobs (load 3-5):
    median 190 ms, max 310 ms wall clock; median 115 ms, max 170 ms of CPU time.
    About two thirds of it is matplotlib creating the two axes and the PNG.
    """
    controls = {
        "surface": widgets.Dropdown(options=list(NEWTON_SURFACES), value=surface, description="surface"),
        "steps": widgets.IntSlider(value=steps, min=1, max=50, description="steps"),
        "lr": widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.25, description="GD lr",
                                     readout_format=".2g"),
        "damping": widgets.FloatSlider(value=damping, min=0.0, max=5.0, step=0.1, description="damping"),
    }
    return Explorer(controls, newton_view, draw_newton, figsize=(10.5, 4.4),
                    description="Newton's method x <- x - (H + damping I)^-1 grad f vs gradient descent x <- x - lr grad f")


# ------------------------------------------------------- loss landscapes


def _weight_names(params: Mapping[str, np.ndarray]) -> list[str]:
    return [name for name in params if name.startswith("W")]


def loss_along_line(
    model: MLP, start: Mapping[str, np.ndarray], direction: Mapping[str, np.ndarray], X: np.ndarray, y: np.ndarray,
    ts: Any,
) -> np.ndarray:
    """Cross-entropy of the network with parameters ``start + t * direction``, for every t in ``ts``.

    With direction = theta_B - theta_A this is the straight line between two
    solutions (t = 0 is A, t = 1 is B); with a random direction, a 1-D slice of
    the loss landscape around ``start``.  ``model`` only supplies the
    architecture: it is not modified.

    Returns:
        float array of shape (len(ts),).
    """
    probe = MLP(model.sizes, model.activation, rng=np.random.default_rng(0), output_activation=model.output_activation)
    losses = []
    with one_blas_thread():
        for t in np.asarray(ts, dtype=np.float64):
            probe.params = {name: start[name] + t * direction[name] for name in start}
            losses.append(softmax_cross_entropy(probe.forward(X), y)[0])
    return np.array(losses)


def random_direction(params: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A Gaussian direction in parameter space, scaled layer by layer to the norm of that layer's weights.

    Scaling each layer (Li et al. 2018, "Visualizing the loss landscape of
    neural nets", do it per filter) makes t = 1 a change as large as the
    weights themselves in every layer, whatever their scale.  Biases get 0.
    """
    rng = check_rng(rng)
    direction = {}
    for name, value in params.items():
        if name.startswith("W"):
            d = rng.standard_normal(value.shape)
            direction[name] = d * (np.linalg.norm(value) / np.linalg.norm(d))
        else:
            direction[name] = np.zeros_like(value)
    return direction


def permute_hidden_units(params: Mapping[str, np.ndarray], permutation: Any, layer: int = 1) -> dict[str, np.ndarray]:
    """The same network with the units of hidden layer ``layer`` reordered: it computes the same function.

    W{layer} columns, b{layer} entries and W{layer+1} rows are permuted together.
    Every network thus has (width!) equivalent copies per hidden layer: a loss
    with that many separate minima cannot be convex.

    Returns:
        a new dict of parameters (the input is not modified).
    """
    permutation = np.asarray(permutation)
    width = params[f"W{layer}"].shape[1]
    if f"W{layer + 1}" not in params or sorted(permutation.tolist()) != list(range(width)):
        raise ValueError(
            f"permutation must reorder the {width} units of hidden layer {layer} (a permutation of 0..{width - 1}), "
            f"and layer {layer} must be followed by another layer; got {permutation!r} for layers "
            f"{_weight_names(params)}"
        )
    permuted = {name: value.copy() for name, value in params.items()}
    permuted[f"W{layer}"] = params[f"W{layer}"][:, permutation]
    permuted[f"b{layer}"] = params[f"b{layer}"][permutation]
    permuted[f"W{layer + 1}"] = params[f"W{layer + 1}"][permutation, :]
    return permuted


def final_loss_spread(
    widths: Sequence[int], n_seeds: int, X: np.ndarray, y: np.ndarray, *, epochs: int = 100, lr: float = 0.01,
    batch_size: int = 50, seed: int = 0, progress: bool = False,
) -> dict[int, np.ndarray]:
    """Final training losses of ``n_seeds`` randomly initialized one-hidden-layer MLPs per width.

    Every network sees the same data and minibatches (Adam, ``train_stacked``);
    only the initialization differs.  Choromanska et al. (2015): for large
    networks the minima found are about equally good; small networks often
    end in a poor one.

    Returns:
        dict width -> final training losses, shape (n_seeds,), sorted.
    """
    n_seeds = check_int(n_seeds, "n_seeds", 1)
    n_classes = int(y.max()) + 1
    spread = {}
    iterator = widths
    if progress:
        from tqdm.auto import tqdm

        iterator = tqdm(widths, desc="widths")
    for width in iterator:
        models = [MLP([X.shape[1], width, n_classes], rng=np.random.default_rng([seed, width, s])) for s in range(n_seeds)]
        _, losses = train_stacked(stack_params(models), X, y, lrs=lr, epochs=epochs,
                                  rng=np.random.default_rng(seed), batch_size=batch_size)
        spread[width] = np.sort(losses[:, -1])
    return spread


# ------------------------------------------------------------ memorization


def shuffle_labels(y: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of y in which a random ``fraction`` of the examples have their labels shuffled among themselves.

    fraction = 1 shuffles every label (Zhang et al.'s "random labels", with the
    class frequencies kept); in between are their "partially corrupted
    labels".  About 1/(number of classes) of the shuffled labels land on the
    right class by chance.
    """
    fraction = check_range(fraction, "fraction", 0.0, 1.0)
    rng = check_rng(rng)
    noisy = np.array(y, copy=True)
    chosen = rng.choice(len(y), size=round(fraction * len(y)), replace=False)
    noisy[chosen] = noisy[rng.permutation(chosen)]
    return noisy


def memorization(
    fractions: Sequence[float] = (0.0, 0.5, 1.0), *, n_train: int = 300, hidden: int = 256, epochs: int = 100,
    lr: float = 1e-3, seed: int = 0, progress: bool = False,
) -> dict[float, dict[str, np.ndarray]]:
    """Train a 64-``hidden``-10 MLP on ``n_train`` digits whose labels are partly or fully shuffled.

    Zhang et al. (2017), "Understanding deep learning requires rethinking
    generalization": the same network reaches 100% training accuracy on real
    and on random labels, but only the real labels generalize.  Validation
    accuracy is measured on the untouched validation labels.

    Args:
        fractions: fractions of shuffled training labels, each in [0, 1].
        n_train: training examples (a random subset of the 1257; 1257 for the full run).
        hidden, epochs, lr: the network (Adam, batch 32) and its training.
        seed: seeds the subset, the shuffles, the inits and the batches.

    Returns:
        dict fraction -> {"loss", "train" (accuracy on the noisy training labels), "val"}, arrays (epochs,).
    """
    data = digits_data(0)
    rng = np.random.default_rng(seed)
    subset = rng.permutation(len(data.X_train))[: check_int(n_train, "n_train", 1)]
    X, y = data.X_train[subset], data.y_train[subset]
    results = {}
    for fraction in fractions:
        noisy = shuffle_labels(y, fraction, np.random.default_rng([seed, round(1000 * fraction)]))
        model = MLP([X.shape[1], hidden, 10], rng=np.random.default_rng([seed, 1]))
        results[fraction] = train(
            model, X, noisy, epochs=epochs, lr=lr, rng=np.random.default_rng([seed, 2]), batch_size=32,
            monitor={"train": (X, noisy), "val": (data.X_val, data.y_val)}, progress=progress,
        )
    return results


# --------------------------------------------------------- lottery tickets


def magnitude_masks(
    params: Mapping[str, np.ndarray], keep: float, output_keep: float | None = None
) -> dict[str, np.ndarray]:
    """0/1 masks that keep the ``keep`` fraction of largest-magnitude weights in every weight matrix.

    Biases are not pruned.  Frankle & Carbin (2019) prune the output layer at
    half the rate of the others; ``output_keep`` sets its fraction (default
    ``1 - (1 - keep) / 2``).  Ties at the threshold are broken by position, so
    exactly round(keep * size) weights survive in each matrix.

    Returns:
        dict W-name -> float array of 0s and 1s with the weight's shape.
    """
    keep = check_range(keep, "keep", 0.0, 1.0)
    output_keep = 1 - (1 - keep) / 2 if output_keep is None else check_range(output_keep, "output_keep", 0.0, 1.0)
    names = _weight_names(params)
    masks = {}
    for name in names:
        weights = np.abs(params[name]).ravel()
        kept = round((output_keep if name == names[-1] else keep) * weights.size)
        mask = np.zeros(weights.size)
        mask[np.argsort(-weights, kind="stable")[:kept]] = 1.0
        masks[name] = mask.reshape(params[name].shape)
    return masks


def lottery_ticket(
    keep_fractions: Sequence[float] = (0.2, 0.1, 0.05), *, hidden: int = 128, epochs: int = 10, lr: float = 3e-3,
    seeds: Sequence[int] = (0, 1), progress: bool = False,
) -> dict[str, Any]:
    """Frankle & Carbin's experiment on the digits: train, prune by magnitude, rewind, retrain.

    For every seed: train a 64-``hidden``-10 MLP (Adam), compute
    ``magnitude_masks`` of the trained weights, then train two sparse networks
    with that mask for the same epochs and minibatches: the *ticket*, rewound to
    the original initial weights, and a *random reinitialization* (fresh
    weights, same mask).  The only difference between the two is where the
    surviving weights start.

    Returns:
        dict with "full": validation accuracy per epoch (len(seeds), epochs),
        "ticket" and "reinit": keep -> (len(seeds), epochs) arrays, and
        "kept": keep -> fraction of all weights kept (output layer included).
    """
    data = digits_data(0)
    sizes = [data.X_train.shape[1], hidden, 10]
    monitor = {"val": (data.X_val, data.y_val)}
    full, ticket, reinit, kept = [], {k: [] for k in keep_fractions}, {k: [] for k in keep_fractions}, {}
    runs = [(seed, keep) for seed in seeds for keep in (None, *keep_fractions)]
    if progress:
        from tqdm.auto import tqdm

        runs = tqdm(runs, desc="networks")

    def fit(model: MLP, seed: int, masks: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
        return train(model, data.X_train, data.y_train, epochs=epochs, lr=lr, rng=np.random.default_rng([seed, 7]),
                     masks=masks, monitor=monitor)["val"]

    for seed, keep in runs:
        if keep is None:
            model = MLP(sizes, rng=np.random.default_rng([seed, 0]))
            initial = {name: value.copy() for name, value in model.params.items()}
            full.append(fit(model, seed))
            trained = model.params
            continue
        masks = magnitude_masks(trained, keep)
        kept[keep] = sum(m.sum() for m in masks.values()) / sum(m.size for m in masks.values())
        rewound = MLP(sizes, rng=np.random.default_rng([seed, 0]))
        rewound.params = {name: value.copy() for name, value in initial.items()}
        ticket[keep].append(fit(rewound, seed, masks))
        fresh = MLP(sizes, rng=np.random.default_rng([seed, 1]))  # another draw of the same init
        reinit[keep].append(fit(fresh, seed, masks))
    as_arrays = lambda runs_by_keep: {k: np.array(v) for k, v in runs_by_keep.items()}  # noqa: E731
    return {"full": np.array(full), "ticket": as_arrays(ticket), "reinit": as_arrays(reinit), "kept": kept}


def prune_accuracy(model: MLP, fractions_removed: Sequence[float], X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Accuracy of a trained network after removing each fraction of its smallest weights, without retraining.

    Every weight matrix loses the same fraction (``magnitude_masks`` with
    output_keep = keep); ``model`` is not modified.
    """
    probe = MLP(model.sizes, model.activation, rng=np.random.default_rng(0), output_activation=model.output_activation)
    accuracies = []
    for removed in fractions_removed:
        keep = 1.0 - check_range(removed, "fractions_removed", 0.0, 1.0)
        masks = magnitude_masks(model.params, keep, output_keep=keep)
        probe.params = {name: value * masks[name] if name in masks else value.copy()
                        for name, value in model.params.items()}
        accuracies.append(accuracy(probe, X, y))
    return np.array(accuracies)
