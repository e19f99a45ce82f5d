"""dlcourse.widgets.optimizers: the race against torch.optim, in float64.

Tolerances: race trajectories (200 optimizer steps on a convex surface,
rounding accumulates step by step): rtol=1e-10, atol=1e-12, as the optimizer tests.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch_paths import torch_trajectory

from dlcourse.surfaces import get_surface
from dlcourse.widgets.optimizers import (
    RACE_HYPERPARAMETERS,
    RACE_OPTIMIZERS,
    RACE_SURFACES,
    START_POINTS,
    TUNED_LR,
    bias_correction_explorer,
    describe_race,
    draw_race,
    optimizer_race,
    race,
)

RTOL, ATOL = 1e-10, 1e-12


# name -> torch optimizer at the same hyperparameters as dlcourse.optim's defaults (Lion: not in torch)
TORCH_OPTIMIZERS = {
    "sgd": lambda p, lr: torch.optim.SGD(p, lr=lr),
    "momentum": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9),
    "nesterov": lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, nesterov=True),
    "adagrad": lambda p, lr: torch.optim.Adagrad(p, lr=lr),
    "rmsprop": lambda p, lr: torch.optim.RMSprop(p, lr=lr),
    "adadelta": lambda p, lr: torch.optim.Adadelta(p, lr=lr),
    "adam": lambda p, lr: torch.optim.Adam(p, lr=lr),
    "adamw": lambda p, lr: torch.optim.AdamW(p, lr=lr),
    "adamax": lambda p, lr: torch.optim.Adamax(p, lr=lr),
    "nadam": lambda p, lr: _float64_nadam(torch.optim.NAdam(p, lr=lr), p[0]),
}


def _float64_nadam(optimizer, param):
    # torch keeps NAdam's mu_product in the default dtype (float32); start it in float64
    optimizer.state[param] = {"step": torch.tensor(0.0, dtype=torch.float64),
                              "mu_product": torch.tensor(1.0, dtype=torch.float64),
                              "exp_avg": torch.zeros_like(param), "exp_avg_sq": torch.zeros_like(param)}
    return optimizer



@pytest.mark.parametrize("surface", ["ravine", "quadratic"])
@pytest.mark.parametrize("optimizer", sorted(TORCH_OPTIMIZERS))
def test_race_matches_torch(surface, optimizer):
    # 120 steps: Adadelta at its large tuned rate rattles around the minimum later on,
    # which amplifies rounding differences beyond any fixed tolerance
    data = race(surface, [optimizer], steps=120, lr_factors={optimizer: 0.5})
    lr = 0.5 * TUNED_LR[surface][optimizer]
    assert data["lrs"][optimizer] == lr
    theirs = torch_trajectory(surface, 120, lambda p: TORCH_OPTIMIZERS[optimizer](p, lr), start=data["start"])
    np.testing.assert_allclose(data["trajectories"][optimizer], theirs, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("surface", RACE_SURFACES)
def test_lion_moves_every_coordinate_by_exactly_lr(surface):
    # Lion (no torch class): sign update, |step| = lr per coordinate; first step -lr * sign(g_0)
    data = race(surface, ["lion"], steps=60)
    path, lr = data["trajectories"]["lion"], data["lrs"]["lion"]
    steps = np.abs(np.diff(path, axis=0))
    assert np.all((np.abs(steps - lr) <= 1e-12 * (1 + np.abs(path[1:]))) | (steps == 0))
    g0 = get_surface(surface).grad(np.array(data["start"]))
    np.testing.assert_allclose(path[1], data["start"] - lr * np.sign(g0), rtol=1e-15)


def test_every_tuned_rate_stays_finite_from_the_default_start():
    for surface in RACE_SURFACES:
        data = race(surface, RACE_OPTIMIZERS, steps=200)
        for optimizer, path in data["trajectories"].items():
            assert np.isfinite(path).all(), (surface, optimizer)
        if get_surface(surface).minima:
            start_gap = data["losses"]["sgd"][0]
            assert all(score < start_gap / 5 for score in data["scores"].values()), surface
        else:  # the saddle's rates were picked so that every optimizer escapes
            assert all(score is not None and score <= 150 for score in data["scores"].values())


def test_scores_steps_starts_and_learning_rates():
    data = race("rosenbrock", ("adam", "sgd"), steps=50, start="upper right", lr_factors={"adam": 10.0})
    (x_low, x_high), (y_low, y_high) = get_surface("rosenbrock").bounds
    assert data["start"] == pytest.approx((x_low + 0.9 * (x_high - x_low), y_low + 0.9 * (y_high - y_low)))
    assert data["lrs"]["adam"] == pytest.approx(10 * TUNED_LR["rosenbrock"]["adam"])
    assert data["lrs"]["sgd"] == TUNED_LR["rosenbrock"]["sgd"] and set(data["lrs"]) == set(RACE_OPTIMIZERS)
    longer = race("rosenbrock", ("adam",), steps=300, start="upper right", lr_factors={"adam": 10.0})
    np.testing.assert_array_equal(data["trajectories"]["adam"], longer["trajectories"]["adam"][:51])
    path = data["trajectories"]["sgd"]
    assert path.shape == (51, 2) and data["scores"]["sgd"] == pytest.approx(get_surface("rosenbrock").f(path[-1]))
    assert race("ravine", ("adam",), start="default")["start"] == get_surface("ravine").default_start


def test_saddle_score_is_the_first_step_below_minus_four():
    data = race("saddle", ("sgd",), steps=200)
    f = get_surface("saddle").f(data["trajectories"]["sgd"])
    step = int(data["scores"]["sgd"])
    assert f[step] < -4 <= f[step - 1]


def test_diverged_runs_score_none():
    data = race("quadratic", ("sgd",), steps=100, lr_factors={"sgd": 100.0})
    assert data["scores"]["sgd"] is None and not np.isfinite(data["losses"]["sgd"][-1])


def test_cached_trajectories_cannot_be_modified():
    path = race("beale", ("adam",))["trajectories"]["adam"]
    with pytest.raises(ValueError, match="read-only"):
        path[0, 0] = 0.0


def test_race_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="optimizers"):
        race("beale", ["adamm"])
    with pytest.raises(ValueError, match="surface"):
        race("monkey")
    with pytest.raises(ValueError, match="steps"):
        race("beale", steps=501)
    with pytest.raises(ValueError, match="start"):
        race("beale", start="middle")
    with pytest.raises(ValueError, match=r"lr_factors\['adam'\]"):
        race("beale", lr_factors={"adam": 0.0})
    with pytest.raises(TypeError, match="lr_adamm"):
        optimizer_race(lr_adamm=2.0)


def test_race_shows_every_hyperparameter_besides_torchs_defaults():
    # AdamW's weight decay (torch's default 1e-2, which Adam does not have) and momentum's mu are shown
    assert RACE_HYPERPARAMETERS == {"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9},
                                    "adamw": {"weight_decay": 1e-2}}
    data = race("ravine", ("adam", "adamw"), steps=50)
    assert data["hyperparameters"]["adamw"] == {"lr": TUNED_LR["ravine"]["adamw"], "weight_decay": 1e-2}
    assert data["hyperparameters"]["adam"] == {"lr": TUNED_LR["ravine"]["adam"]}
    # the scoreboard's row of AdamW names its decay, Adam's none
    figure = Figure(figsize=(13.0, 4.6))
    draw_race(figure, data)
    labels = [text.get_text() for text in figure.axes[2].texts]
    assert any(label.startswith("adamw  lr=1.8") and "\u03bb=0.01" in label for label in labels)
    assert any(label.startswith("momentum") and "\u03bc=0.9" in label for label in labels)
    assert not any(label.startswith("adam  ") and "\u03bb" in label for label in labels)


def test_race_widget_shows_only_the_tuned_slider():
    explorer = optimizer_race(surface="beale", tune="lion", lr_lion=2.0)
    shown = [name for name in RACE_OPTIMIZERS if explorer.controls[f"lr_{name}"].layout.display != "none"]
    assert shown == ["lion"] and explorer.data["lrs"]["lion"] == pytest.approx(2 * TUNED_LR["beale"]["lion"])
    explorer.controls["tune"].value = "sgd"
    assert [n for n in RACE_OPTIMIZERS if explorer.controls[f"lr_{n}"].layout.display != "none"] == ["sgd"]
    explorer.controls["surface"].value = "ravine"
    assert explorer.controls["lr_sgd"].description == f"lr {TUNED_LR['ravine']['sgd']:.2g} ×"


def test_module_does_not_import_torch():
    code = "import sys, dlcourse.widgets.optimizers; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_start_points_are_inside_every_window():
    for surface in RACE_SURFACES:
        (x_low, x_high), (y_low, y_high) = get_surface(surface).bounds
        for start in START_POINTS:
            x, y = race(surface, (), steps=10, start=start)["start"]
            assert x_low <= x <= x_high and y_low <= y <= y_high


def test_the_lectures_builders_are_importable_from_here():
    from dlcourse.widgets import bias_correction

    assert bias_correction_explorer is bias_correction.bias_correction_explorer


def test_the_text_ranks_the_racers():
    data = race("beale", ("sgd", "adam"), 100)
    text = describe_race(data, tune="adam")
    ranked = sorted(data["scores"], key=data["scores"].get)
    assert text.index(f"{ranked[0]} {data['scores'][ranked[0]]:.2g}") < text.index(f"{ranked[1]} ")
    assert f"adam {data['lrs']['adam']:.2g}" in text and "lion" in text  # every optimizer's learning rate
    saddle = describe_race(race("saddle", ("sgd",), 50), tune="sgd")
    assert "f < −4 (escaped)" in saddle
