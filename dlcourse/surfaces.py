"""2-D loss surfaces with analytic gradients, for watching optimizers move.

Each surface is a frozen ``Surface`` whose ``f`` and ``grad`` take points of
shape (..., 2) -- one point, a trajectory or a whole 200x200 grid at once.  The
formulas use only arithmetic operators and ``**``, so ``surface.f`` also works on
torch tensors (that is how the tests check ``grad`` against torch.autograd).

``run`` drives any optimizer that follows ``dlcourse.optim``'s contract
(``state = init_fn(theta)``; ``theta, state = step_fn(theta, grad, state, **hp)``)
over a surface and returns the trajectory.

Lectures: Georgia Tech CS 4644/7643 'Optimization' (loss-surface problems: noise,
saddle points, poor conditioning); SDU summer school 'Gradient-Based Learning'
(stationary points, saddles, cliffs); VU Amsterdam DLVU lecture 4 'Tools of the trade';
Pascanu, Mikolov & Bengio, "On the difficulty of training recurrent neural networks", ICML 2013 (the cliff).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlcourse._checks import as_float_array, check_choice, check_int, check_range

__all__ = [
    "CLIFF",
    "SURFACES",
    "Surface",
    "get_surface",
    "ill_conditioned_quadratic",
    "run",
]

Point = tuple[float, float]


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface.

    Attributes:
        name: key in ``SURFACES``.
        f: loss, ``f(xy)`` for xy of shape (..., 2) -> shape (...); numpy or torch.
        grad: gradient, ``grad(xy)`` for a numpy xy of shape (..., 2) -> shape (..., 2).
        minima: the global minima (x, y); empty for the saddles, which are unbounded below,
            and for the cliff, whose minimum has no closed form.
        bounds: ((xmin, xmax), (ymin, ymax)), the window worth plotting.
        default_start: an instructive starting point.
        description: one line for a plot title or widget label.
    """

    name: str
    f: Callable[[Any], Any]
    grad: Callable[[Any], np.ndarray]
    minima: tuple[Point, ...]
    bounds: tuple[Point, Point]
    default_start: Point
    description: str


def _coordinates(xy: Any) -> tuple[Any, Any]:
    if not hasattr(xy, "shape"):
        xy = np.asarray(xy, dtype=np.float64)
    if xy.shape[-1:] != (2,):
        raise ValueError(
            f"xy must have shape (..., 2) with the coordinates (x, y) on the last axis, got shape "
            f"{tuple(xy.shape)}; for a grid use np.stack((X, Y), axis=-1)"
        )
    return xy[..., 0], xy[..., 1]


def _surface(
    name: str,
    loss: Callable[[Any, Any], Any],
    partials: Callable[[Any, Any], tuple[Any, Any]],
    minima: tuple[Point, ...],
    bounds: tuple[Point, Point],
    default_start: Point,
    description: str,
) -> Surface:
    """Build a Surface from a loss(x, y) and its partial derivatives (df/dx, df/dy)."""

    def f(xy: Any) -> Any:
        return loss(*_coordinates(xy))

    def grad(xy: Any) -> np.ndarray:
        df_dx, df_dy = partials(*_coordinates(xy))
        return np.stack((df_dx, df_dy), axis=-1)

    f.__doc__ = f"{name} loss; xy (..., 2) -> (...)."
    grad.__doc__ = f"{name} gradient; xy (..., 2) -> (..., 2)."
    return Surface(name, f, grad, minima, bounds, default_start, description)


# ---------------------------------------------------------------- surfaces


def ill_conditioned_quadratic(condition_number: float = 10.0) -> Surface:
    """f(x, y) = (x^2 + kappa y^2) / 2, a bowl whose Hessian diag(1, kappa) has condition number kappa.

    Gradient descent is stable for lr < 2 / kappa (the steep y direction) but then
    moves along the flat x direction by a factor (1 - lr) per step at best, so the
    number of steps grows like kappa: the zig-zag of the 'poor conditioning' slide.

    Args:
        condition_number: kappa >= 1 (1 gives a round bowl).

    Source: Georgia Tech CS 4644/7643 'Optimization' (poor conditioning).

    Example:
        >>> bowl = ill_conditioned_quadratic(10.0)
        >>> float(bowl.f(np.array([1.0, 1.0]))), bowl.grad(np.array([1.0, 1.0]))
        (5.5, array([ 1., 10.]))
    """
    kappa = check_range(condition_number, "condition_number", 1.0)
    return _surface(
        "quadratic",
        lambda x, y: 0.5 * (x**2 + kappa * y**2),
        lambda x, y: (x, kappa * y),
        minima=((0.0, 0.0),),
        bounds=((-4.0, 4.0), (-2.0, 2.0)),
        default_start=(-3.5, 1.5),
        description=f"ill-conditioned quadratic (x^2 + {kappa:g} y^2) / 2, condition number {kappa:g}",
    )


# The ravine is the condition-number-20 quadratic u^2/20 + v^2 in coordinates
# u = (x + y)/sqrt(2), v = (y - x)/sqrt(2) rotated by 45 degrees: the valley runs
# along the diagonal, so per-coordinate step sizes (Adagrad, RMSProp, Adam) cannot
# undo the conditioning as they can for the axis-aligned quadratic.
_RAVINE = _surface(
    "ravine",
    lambda x, y: (x + y) ** 2 / 40 + (y - x) ** 2 / 2,
    lambda x, y: ((x + y) / 20 - (y - x), (x + y) / 20 + (y - x)),
    minima=((0.0, 0.0),),
    bounds=((-4.0, 4.0), (-4.0, 4.0)),
    default_start=(-3.5, -2.0),
    description="ravine: a long narrow valley along the diagonal, (x+y)^2/40 + (y-x)^2/2",
)

_SADDLE = _surface(
    "saddle",
    lambda x, y: x**2 - y**2,
    lambda x, y: (2 * x, -2 * y),
    minima=(),
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    # Almost on the x axis, the saddle's attracting direction: gradient descent
    # slows down near (0, 0) before the tiny y offset grows and it escapes.
    default_start=(-1.8, 1e-3),
    description="saddle x^2 - y^2: stationary at (0, 0) but not a minimum",
)

_MONKEY_SADDLE = _surface(
    "monkey_saddle",
    lambda x, y: x**3 - 3 * x * y**2,
    lambda x, y: (3 * x**2 - 3 * y**2, -6 * x * y),
    minima=(),
    bounds=((-1.5, 1.5), (-1.5, 1.5)),
    default_start=(1.2, 0.05),
    description="monkey saddle x^3 - 3 x y^2: gradient and curvature both vanish at (0, 0)",
)

_ROSENBROCK = _surface(
    "rosenbrock",
    lambda x, y: (1 - x) ** 2 + 100 * (y - x**2) ** 2,
    lambda x, y: (-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)),
    minima=((1.0, 1.0),),
    bounds=((-2.0, 2.0), (-1.0, 3.0)),
    default_start=(-1.2, 1.0),  # Rosenbrock's (1960) classic start
    description="Rosenbrock (1 - x)^2 + 100 (y - x^2)^2: a curved, flat-bottomed valley",
)


def _beale(x: Any, y: Any) -> Any:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _beale_partials(x: Any, y: Any) -> tuple[Any, Any]:
    r1, r2, r3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
    df_dx = 2 * r1 * (y - 1) + 2 * r2 * (y**2 - 1) + 2 * r3 * (y**3 - 1)
    df_dy = 2 * r1 * x + 4 * r2 * x * y + 6 * r3 * x * y**2
    return df_dx, df_dy


_BEALE = _surface(
    "beale",
    _beale,
    _beale_partials,
    minima=((3.0, 0.5),),
    bounds=((-4.5, 4.5), (-4.5, 4.5)),
    default_start=(1.0, 1.5),
    description="Beale: flat plateau, steep walls, minimum at (3, 0.5)",
)


def _himmelblau_partials(x: Any, y: Any) -> tuple[Any, Any]:
    a, b = x**2 + y - 11, x + y**2 - 7
    return 4 * x * a + 2 * b, 2 * a + 4 * y * b


# The four minima solve x^2 + y - 11 = 0 and x + y^2 - 7 = 0 (where f = 0); the
# three irrational ones were solved to 40 digits (mpmath.findroot) and rounded
# to the nearest double.
_HIMMELBLAU = _surface(
    "himmelblau",
    lambda x, y: (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2,
    _himmelblau_partials,
    minima=(
        (3.0, 2.0),
        (-2.805118086952745, 3.131312518250573),
        (-3.779310253377747, -3.2831859912861696),
        (3.5844283403304917, -1.8481265269644036),
    ),
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    default_start=(0.0, 0.0),
    description="Himmelblau: four equal minima, which one you reach depends on the start",
)

# A smooth step of height 40 along the line n . (x, y) = 1, n at 20 degrees, on a gentle bowl:
#     f = (0.1 x^2 + y^2) / 2 + 20 (1 + u / sqrt(1 + u^2)),   u = 10 (n . (x, y) - 1)
# The step's slope peaks at 200 on the cliff face; the slopes around it are below 1.  The minimum
# (near the origin, f about 0.1) has no closed form, so ``minima`` stays empty.
_CLIFF_NX, _CLIFF_NY = float(np.cos(np.deg2rad(20))), float(np.sin(np.deg2rad(20)))


def _cliff_u(x: Any, y: Any) -> Any:
    return 10.0 * (_CLIFF_NX * x + _CLIFF_NY * y - 1.0)


def _cliff_partials(x: Any, y: Any) -> tuple[Any, Any]:
    slope = 200.0 * (1 + _cliff_u(x, y) ** 2) ** -1.5  # d/dn of the step: 20 * 10 * (1 + u^2)^(-3/2)
    return 0.1 * x + slope * _CLIFF_NX, y + slope * _CLIFF_NY


CLIFF = _surface(
    "cliff",
    lambda x, y: 0.5 * (0.1 * x**2 + y**2) + 20.0 * (1 + _cliff_u(x, y) / (1 + _cliff_u(x, y) ** 2) ** 0.5),
    _cliff_partials,
    minima=(),
    bounds=((-7.0, 5.0), (-3.5, 3.0)),
    default_start=(4.0, 2.0),
    description="a gentle plateau that ends in a cliff of height 40 (Pascanu et al. 2013, fig. 6)",
)

SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (
        ill_conditioned_quadratic(),
        _RAVINE,
        _SADDLE,
        _MONKEY_SADDLE,
        _ROSENBROCK,
        _BEALE,
        _HIMMELBLAU,
        CLIFF,
    )
}


def get_surface(name: str) -> Surface:
    """Return ``SURFACES[name]``, or raise ``ValueError`` listing the valid names.

    Example:
        >>> rosenbrock = get_surface("rosenbrock")
        >>> rosenbrock.default_start, float(rosenbrock.f(np.array(rosenbrock.minima[0])))
        ((-1.2, 1.0), 0.0)
        >>> round(float(get_surface("cliff").f(np.array([4.0, 2.0]))), 3)    # on the plateau above the cliff
        42.792
    """
    return SURFACES[check_choice(name, "name", tuple(SURFACES))]


# --------------------------------------------------------------- running


def run(
    step_fn: Callable[..., tuple[np.ndarray, Any]],
    init_fn: Callable[[np.ndarray], Any],
    surface: str | Surface,
    start: Any = None,
    steps: int = 100,
    **hp: Any,
) -> np.ndarray:
    """Run an optimizer on a surface and return its trajectory, start included.

        theta_0 = start,  state = init_fn(theta_0)
        theta_{t+1}, state = step_fn(theta_t, grad f(theta_t), state, **hp)

    Args:
        step_fn, init_fn: an optimizer in ``dlcourse.optim``'s pure form.
        surface: a ``Surface`` or a name in ``SURFACES``.
        start: (x, y) floating starting point; None uses ``surface.default_start``.
        steps: number of optimizer steps (>= 0).
        **hp: hyperparameters passed to every ``step_fn`` call (lr=..., betas=...).

    Returns:
        trajectory of shape (steps + 1, 2): theta_0, ..., theta_steps, with start's
        floating dtype (float64 for None or a tuple).

    Notes:
        Divergence does not raise (a widget must survive a huge learning rate).
        If a step produces a non-finite theta, or the gradient at theta_t is
        non-finite, the run stops: theta_t is the last finite row and all later
        rows are nan.  The first diverged step is
        ``np.isnan(trajectory[:, 0]).argmax()`` when ``np.isnan(trajectory).any()``.
        Overflow warnings from such a run are silenced.

    Example:
        >>> from dlcourse.optim import sgd_init, sgd_step
        >>> run(sgd_step, sgd_init, "quadratic", steps=2, lr=0.1)     # y shrinks by 1 - 0.1 * 10 = 0
        array([[-3.5  ,  1.5  ],
               [-3.15 ,  0.   ],
               [-2.835,  0.   ]])
    """
    if isinstance(surface, str):
        surface = get_surface(surface)
    elif not isinstance(surface, Surface):
        raise TypeError(
            f"surface must be a Surface or one of the names {list(SURFACES)}, got {type(surface).__name__}"
        )
    theta = as_float_array(surface.default_start if start is None else start, "start")
    if theta.shape != (2,) or not np.isfinite(theta).all():
        raise ValueError(f"start must be a finite point (x, y) of shape (2,), got {theta!r}")
    steps = check_int(steps, "steps", 0)
    trajectory = np.full((steps + 1, 2), np.nan, dtype=theta.dtype)
    trajectory[0] = theta
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        state = init_fn(theta)
        for t in range(1, steps + 1):
            grad = surface.grad(theta)
            if not np.isfinite(grad).all():
                break
            theta, state = step_fn(theta, grad, state, **hp)
            if not np.isfinite(theta).all():
                break
            trajectory[t] = theta
    return trajectory
