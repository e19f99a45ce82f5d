"""The guided tour of ``surface_gd_explorer`` (lecture 04): one literal table of settings and what each shows.

``SURFACE_TOUR`` is read twice: by ``surface_tour()``, which the lecture shows (every number in its
text measured from the run at that setting, and each stop's expectation asserted), and by
``tests/widgets/test_widgets_sgd.py``, which checks that every value is on the explorer's sliders and
every run does what its text says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse.newton import hessian
from dlcourse.surfaces import get_surface
from dlcourse.widgets.sgd import _STARTS, LR_SLIDER, _lowest_value, noisy_descent

__all__ = ["SURFACE_TOUR", "TourStop", "lr_on_grid", "surface_tour", "tour_facts"]


# ---------------------------------------------------------------- the guided tour of surface_gd_explorer

@dataclass(frozen=True)
class TourStop:
    """One setting of the explorer's guided tour, and what its run shows.

    ``lr`` is written as the slider's readout shows it (``LR_SLIDER``'s grid, 3 digits);
    ``start`` None is the surface's start in the explorer.  ``text`` is Markdown with fields
    filled from ``tour_facts`` of the run; ``expect`` maps some of those facts to an inclusive
    (low, high) range that the run must satisfy (checked when the tour is shown, and by the tests).
    """

    lr: float
    text: str
    steps: int = 150
    start: tuple[float, float] | None = None
    noise: float = 0.0
    expect: tuple[tuple[str, float, float], ...] = ()


_NEVER = -1  # diverged_at of a run that did not diverge, in ``tour_facts``

#: The lecture's guided tour (04, section 7): surface -> (what it is, its stops). One literal table, read by
#: ``surface_tour`` (the text the lecture shows) and by tests/widgets/test_widgets_sgd.py (on the grid; the runs).
SURFACE_TOUR: dict[str, tuple[str, tuple[TourStop, ...]]] = {
    "saddle": ("$x^2 - y^2$", (
        TourStop(0.0501, "the path runs toward $(0, 0)$ and the gradient drops from {grad0:.1f} to {min_grad:.2f} "
                 "(step {min_grad_step}, the dip on the right); only the tiny $y$ offset, growing by a factor "
                 "$1 + 2\\eta$ = {factor_low:.2f} per step, lets it escape", start=(-1.8, 0.01),
                 expect=(("diverged_at", _NEVER, _NEVER), ("final_distance", 100, 1e6))),
        TourStop(0.0501, "gradient descent converges to the saddle point and stays there, at "
                 "{final} after {steps} steps", start=(-1.8, 0.0), expect=(("final_distance", 0, 1e-5),)),
        TourStop(0.0501, "{noisy_apart} of the 5 noisy runs escape", start=(-1.8, 0.0),
                 noise=2.0, expect=(("noisy_apart", 5, 5),)),
    )),
    "monkey_saddle": ("$x^3 - 3xy^2$", (
        TourStop(0.0501, "gradient and curvature both vanish at the origin (the Hessian there is 0, so each "
                 "factor $|1 - \\eta\\lambda_i|$ is {factor_high:.0f}), and the gradient fades like the squared "
                 "distance: it drops from {grad0:.1f} to {min_grad:.2f} (step {min_grad_step}), then the iterate "
                 "turns away and runs off (stopped at step {diverged_at}; both saddles are unbounded below)",
                 start=(1.2, 0.01), expect=(("diverged_at", 1, 150),)),
    )),
    "ravine": ("$(x+y)^2/40 + (y-x)^2/2$: curvatures 0.1 along the valley, 2 across, so $2/L = 1$", (
        TourStop(0.794, "zig-zag between the walls: across the valley each step flips the sign and multiplies "
                 "by {factor_high:.3f}, along the floor by {factor_low:.3f}; $f - f^\\star$ = {gap:.1e} after "
                 "{steps} steps", expect=(("diverged_at", _NEVER, _NEVER),)),
        TourStop(1.0, "the factor across is exactly {factor_high:.3f}: the zig-zag keeps its width forever "
                 "while the iterate walks down the floor; $f - f^\\star$ = {gap:.3f} after {steps} steps "
                 "is the width that stays", expect=(("gap", 0.5, 2.0),)),
        TourStop(1.26, "diverges: the factor across is {factor_high:.2f} > 1 (stopped at step {diverged_at})",
                 expect=(("diverged_at", 1, 150),)),
        TourStop(0.501, "removes the steep direction almost in one step (factor {factor_high:.3f}) and then "
                 "walks down the valley floor at a factor {factor_low:.3f} per step", expect=(("gap", 0, 1e-5),)),
        TourStop(0.1, "crawls: a factor {factor_low:.3f} per step along the floor, $f - f^\\star$ = {gap:.3f} "
                 "after {steps} steps", expect=(("gap", 1e-2, 1.0),)),
    )),
    "rosenbrock": ("$(1 - x)^2 + 100(y - x^2)^2$, minimum at $(1, 1)$", (
        TourStop(0.001, "the iterate drops into the curved valley quickly, then creeps along its flat floor: "
                 "after {steps} steps it is at {final}, $f - f^\\star$ = {gap:.2f} (a plateau)", steps=500,
                 expect=(("gap", 0.5, 10),)),
        TourStop(0.00501, "gets further: {final}, $f - f^\\star$ = {gap:.2f}", steps=500,
                 expect=(("gap", 0.01, 0.5),)),
        TourStop(0.00794, "diverges at once (stopped at step {diverged_at}): the walls are steep, the first "
                 "gradient has length {grad0:.0f}", steps=500, expect=(("diverged_at", 1, 10),)),
    )),
    "beale": ("a plateau with steep walls, minimum at $(3, 0.5)$", (
        TourStop(0.00316, "slow progress across the plateau: at {final} after {steps} steps, "
                 "$f - f^\\star$ = {gap:.2f}", expect=(("gap", 0.1, 2),)),
        TourStop(0.0316, "nearly arrives: {final}, $f - f^\\star$ = {gap:.4f}", expect=(("gap", 0, 0.01),)),
        TourStop(0.0501, "diverges (stopped at step {diverged_at})", expect=(("diverged_at", 1, 5),)),
    )),
    "himmelblau": ("four equally good minima; which one you reach depends on the start", (
        TourStop(0.01, "ends at {final}", start=(0.0, 0.0)),
        TourStop(0.01, "ends at {final}", start=(-1.0, 0.0)),
        TourStop(0.01, "ends at {final}", start=(0.0, -1.0)),
        TourStop(0.01, "ends at {final}", start=(-1.0, -1.0)),
        TourStop(0.01, "next to the local maximum at about $(-0.27, -0.92)$: the 5 noisy "
                 "runs end in {noisy_minima} different minima", start=(-0.3, -0.9), noise=10.0,
                 expect=(("noisy_minima", 2, 4),)),
    )),
}


def lr_on_grid(lr: float) -> float:
    """The value of the lr slider (``LR_SLIDER``) nearest to ``lr``: 10**e with e on the slider's grid."""
    k = round((np.log10(lr) - LR_SLIDER["min"]) / LR_SLIDER["step"])
    return float(LR_SLIDER["base"] ** (LR_SLIDER["min"] + k * LR_SLIDER["step"]))


def tour_facts(surface: str, stop: TourStop) -> dict:
    """Run a tour stop (``noisy_descent`` at the slider value of its lr) and measure what its text names.

    Facts: grad0, min_grad, min_grad_step (the exact run's gradient norm: first, smallest, where);
    diverged_at (-1 if it did not); final (the end point, as text) and final_distance (its distance
    from the start's stationary point: the first minimum, or (0, 0)); gap (f - f* at the end);
    factor_low, factor_high (|1 - lr h| for the lowest and highest eigenvalue h of the Hessian there); noisy_apart
    (noisy runs that end more than 1 away from the exact run); noisy_minima (distinct minima nearest
    to the noisy runs' ends).
    """
    surf = get_surface(surface)
    lr = lr_on_grid(stop.lr)
    result = noisy_descent(surface, lr, stop.noise, stop.steps, _STARTS[surface] if stop.start is None else stop.start)
    path, norms = result.trajectories[0], result.grad_norms[0]
    end = path[np.isfinite(path[:, 0])][-1]
    point = np.array(surf.minima[0] if surf.minima else (0.0, 0.0))
    factors = np.abs(1 - lr * np.linalg.eigvalsh(hessian(surf, point)))   # lowest curvature first
    lowest = _lowest_value(surf)
    noisy_ends = result.trajectories[1:, -1]
    nearest = {int(np.argmin(np.linalg.norm(np.array(surf.minima) - e, axis=1)))
               for e in noisy_ends if np.all(np.isfinite(e))} if surf.minima else set()
    return {
        "lr": lr, "steps": stop.steps, "grad0": norms[0], "min_grad": np.nanmin(norms),
        "min_grad_step": int(np.nanargmin(norms)),
        "diverged_at": _NEVER if result.diverged_at[0] is None else result.diverged_at[0],
        "final": f"({end[0]:.3g}, {end[1]:.3g})", "final_distance": float(np.linalg.norm(end - point)),
        "gap": float(surf.f(end) - lowest) if lowest is not None else float("nan"),
        "factor_low": factors[0], "factor_high": factors[-1],
        "noisy_apart": int(np.sum(~(np.linalg.norm(noisy_ends - end, axis=1) <= 1))), "noisy_minima": len(nearest),
    }


def surface_tour(tour: dict = SURFACE_TOUR) -> Any:
    """The guided tour as Markdown (shown by a notebook cell), every number measured from its run.

    Raises ``AssertionError`` if a run no longer shows what its stop expects.
    """
    from IPython.display import Markdown

    lines = []
    for surface, (what, stops) in tour.items():
        lines.append(f"- **{surface}**, {what}:")
        for stop in stops:
            facts = tour_facts(surface, stop)
            for name, low, high in stop.expect:
                assert low <= facts[name] <= high, f"{surface}, lr {stop.lr}: {name} = {facts[name]}"
            settings = [] if stop.start is None else [f"start ({stop.start[0]:g}, {stop.start[1]:g})"]
            settings += [f"noise {stop.noise:g}"] * (stop.noise > 0) + [f"steps {stop.steps}"] * (stop.steps != 150)
            lines.append(f"  - lr **{stop.lr:.3g}**{''.join(', ' + x for x in settings)}: {stop.text.format(**facts)}.")
    return Markdown("\n".join(lines))
