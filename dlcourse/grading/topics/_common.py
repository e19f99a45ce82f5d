"""Building blocks shared by the topic modules: trial inputs and simple targets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from dlcourse.grading._core import Mistake, Target, Trial
from dlcourse.grading._report import GradingError, Tolerance, describe_value

# float32 results carry ~1e-7 relative rounding per operation; a few dozen
# operations stay well inside 1e-4, while every catalogued mistake is far out.
FLOAT32_TOLERANCE = Tolerance(rtol=1e-4, atol_scale=1e-6)

# (label, shape, scale): batch size 1, odd sizes, tiny and large magnitudes.
VISIBLE_SHAPES: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("a single value", (1,), 1.0),
    ("an odd-sized vector", (7,), 1.0),
    ("a (3, 5) matrix of large values", (3, 5), 30.0),
)
HIDDEN_SHAPES: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("a batch of one row", (1, 4), 1.0),
    ("an odd (5, 3) matrix", (5, 3), 2.0),
    ("a (2, 3, 4) array", (2, 3, 4), 1.0),
    ("tiny values around 1e-6", (9,), 1e-6),
    ("huge values up to 1e3", (4, 6), 1e3),
    ("a (64, 33) batch", (64, 33), 3.0),
)


def random_array(rng: np.random.Generator, shape: tuple[int, ...], scale: float = 1.0,
                 dtype: Any = np.float64) -> np.ndarray:
    """Normal draws times ``scale``, in ``dtype``."""
    return (rng.standard_normal(shape) * scale).astype(dtype)


def with_edge_points(x: np.ndarray, points: Sequence[float]) -> np.ndarray:
    """``x`` with its first entries replaced by exact edge points (0, kinks)."""
    x = x.copy()
    flat = x.reshape(-1)
    n = min(len(points), flat.size)
    flat[:n] = np.asarray(points[:n], dtype=x.dtype)
    return x


def array_trials(
    rng: np.random.Generator,
    hidden: bool,
    name: str = "x",
    edge_points: Sequence[float] = (0.0,),
    param_sets: Sequence[dict[str, Any]] = ({},),
    float32: bool = True,
) -> list[Trial]:
    """Trials of one array input over the standard shapes and magnitudes.

    Every parameter set is tried on every shape (hidden mode) or cycled over
    the shapes (visible mode); edge points are written into the first entries,
    and a float32 trial is added when ``float32``.
    """
    shapes = VISIBLE_SHAPES + HIDDEN_SHAPES if hidden else VISIBLE_SHAPES
    trials = []
    for index, (label, shape, scale) in enumerate(shapes):
        chosen = param_sets if hidden else [param_sets[index % len(param_sets)]]
        for params in chosen:
            x = random_array(rng, shape, scale)
            x = with_edge_points(x, edge_points) if index else x
            suffix = f", {format_params(params)}" if params else ""
            trials.append(Trial(f"{label}{suffix}", [(name, x)], dict(params)))
    if float32:
        params = param_sets[-1]
        x = with_edge_points(random_array(rng, (4, 3), 2.0, np.float32), edge_points)
        suffix = f", {format_params(params)}" if params else ""
        trials.append(Trial(f"a float32 array{suffix}", [(name, x)], dict(params), tolerance=FLOAT32_TOLERANCE))
    return trials


def format_params(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in params.items())


def one_role_target(
    name: str,
    role: str,
    reference: Callable[..., Any],
    trials: Callable[[np.random.Generator, bool], list[Trial]],
    observe: Callable[[Any, Trial], dict[str, Any]],
    mistakes: Sequence[tuple[str, str, Callable[..., Any]]] = (),
    **options: Any,
) -> Target:
    """A target for which the student writes one function (or class), ``role``.

    ``mistakes`` are ``(id, sentence, wrong function)`` triples; ``options``
    are the remaining :class:`Target` fields (``what``, ``pure``, ...).
    """
    return Target(
        name=name,
        roles=(role,),
        reference=(reference,),
        trials=trials,
        observe=observe,
        mistakes=tuple(Mistake(mistake, message, (fn,)) for mistake, message, fn in mistakes),
        **options,
    )


def function_target(
    name: str,
    role: str,
    reference: Callable[..., Any],
    trials: Callable[[np.random.Generator, bool], list[Trial]],
    mistakes: Sequence[tuple[str, str, Callable[..., Any]]] = (),
    output: str = "output",
    **options: Any,
) -> Target:
    """A target for one pure function whose whole return value is compared.

    ``mistakes`` are ``(id, sentence, wrong function)`` triples.
    """

    def observe(call: Any, trial: Trial) -> dict[str, Any]:
        return {output: call(role, trial.args, trial.kwargs)}

    return one_role_target(name, role, reference, trials, observe, mistakes, **options)


def expect_values(result: Any, role: str, names: Sequence[str], when: str = "") -> Any:
    """``result`` after checking it holds one value per name, or a GradingError stating the contract.

    One name means a single value (returned as is, not a 1-tuple); several mean
    a tuple or list of exactly that many (returned as a tuple).  ``when`` says
    at which call it happened ("at step 3 ").
    """
    listed = ", ".join(names)
    if result is None:
        raise GradingError(f"{role} returned None {when}: is `return {listed}` missing?")
    if len(names) == 1:
        if isinstance(result, (tuple, list)):
            raise GradingError(
                f"{role} should return the single value {names[0]}, not a {type(result).__name__} of "
                f"{len(result)} {when}: return {names[0]} itself"
            )
        return result
    if isinstance(result, (tuple, list)) and len(result) == len(names):
        return tuple(result)
    if isinstance(result, (tuple, list)):
        got = f"a {type(result).__name__} of {len(result)} values"
    elif isinstance(result, np.ndarray):
        got = f"a single array ({describe_value(result)})"
    else:
        got = f"a single {type(result).__name__}"
    raise GradingError(
        f"{role} must return {len(names)} values ({listed}); {when}it returned {got}. End it with: return {listed}"
    )
