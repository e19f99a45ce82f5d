"""The broadcasting widget of lecture 09: two array shapes and an operation, the broadcast step by step.

``broadcasting_explorer`` shows the result shape (align right, pad with 1s,
stretch the 1s) and the values as heat maps, with the silent
(N,1) - (N,) -> (N,N) bug and what ``keepdims`` changes.

Source: VU Amsterdam DLVU lecture 4 'Tools of the trade' (debugging: asserts,
broadcasting and keepdim).
"""

from __future__ import annotations

import textwrap
from typing import Any

import ipywidgets as widgets
import numpy as np
from matplotlib.patches import Rectangle

from dlcourse._checks import check_choice
from dlcourse.widgets import Explorer, register
from dlcourse.widgets._plotting import PALETTE, fixed_margins

__all__ = ["OPERATIONS", "SHAPES", "broadcast_demo", "broadcasting_explorer", "describe_broadcast", "draw_broadcast"]


_N, _D = 4, 3  # distinct sizes, so a mix-up of N and D raises instead of passing silently
_NAMES = {_N: "N", _D: "D"}
#: shape label -> symbolic shape
SHAPES: dict[str, tuple[Any, ...]] = {
    "(N,)": ("N",), "(N,1)": ("N", 1), "(1,N)": (1, "N"), "(N,D)": ("N", "D"), "(D,)": ("D",),
}
#: operation label -> (reduce b first?, keepdims)
OPERATIONS: dict[str, tuple[bool, bool]] = {
    "a - b": (False, False),
    "a * b": (False, False),
    "a - b.mean(axis=-1)": (True, False),
    "a - b.mean(axis=-1, keepdims=True)": (True, True),
}


def _numeric(shape: tuple[Any, ...]) -> tuple[int, ...]:
    return tuple({"N": _N, "D": _D}.get(s, s) for s in shape)


def _symbolic(shape: tuple[int, ...]) -> str:
    """(4, 3) -> '(N,D)' using the names N = 4, D = 3."""
    names = [_NAMES.get(s, str(s)) for s in shape]
    return "(" + ",".join(names) + ("," if len(names) == 1 else "") + ")"


def broadcast_demo(shape_a: str, shape_b: str, operation: str) -> dict[str, Any]:
    """Apply ``operation`` to arrays a and b of the given shapes (N = 4, D = 3) and explain the broadcast.

    Broadcasting (numpy and torch alike): align the two shapes on the RIGHT, pad
    the shorter one with leading 1s, then stretch every size-1 axis to the other
    array's size; any other mismatch is an error.

    Args:
        shape_a, shape_b: keys of ``SHAPES``.
        operation: a key of ``OPERATIONS``; the reductions are applied to b before
            the subtraction (``b.mean(axis=-1)`` drops the last axis,
            ``keepdims=True`` keeps it with size 1).

    Returns:
        dict with a, b (the operand after any reduction), result (None on error),
        result_shape, steps (label -> (a's axes, b's axes) as symbols, right-aligned,
        "" where an axis does not exist yet), error (a message or None), outer
        (True when the result has more entries than both operands: the silent
        (N,1) - (N,) -> (N,N) kind of bug).
    """
    check_choice(shape_a, "shape_a", tuple(SHAPES))
    check_choice(shape_b, "shape_b", tuple(SHAPES))
    reduce, keepdims = OPERATIONS[check_choice(operation, "operation", tuple(OPERATIONS))]
    a_shape, b_shape = _numeric(SHAPES[shape_a]), _numeric(SHAPES[shape_b])
    a = np.arange(1.0, 1 + np.prod(a_shape)).reshape(a_shape)
    b = 10.0 * np.arange(1.0, 1 + np.prod(b_shape)).reshape(b_shape)
    if reduce:
        b = b.mean(axis=-1, keepdims=keepdims)
    width = max(a.ndim, b.ndim, 1)
    padded = [(1,) * (width - x.ndim) + x.shape for x in (a, b)]

    def symbols(shape: tuple[int, ...], blank: int = 0) -> list[str]:
        return [""] * blank + [_NAMES.get(s, str(s)) for s in shape]

    steps = {
        "align right": (symbols(a.shape, width - a.ndim), symbols(b.shape, width - b.ndim)),
        "pad with 1s": (symbols(padded[0]), symbols(padded[1])),
    }
    try:
        result_shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        axis = next(i for i, (p, q) in enumerate(zip(*padded, strict=True)) if p != q and 1 not in (p, q))
        error = (f"shapes {_symbolic(a.shape)} and {_symbolic(b.shape)} cannot be broadcast: axis {axis - width} "
                 f"has sizes {padded[0][axis]} and {padded[1][axis]}, and neither is 1")
        return {"a": a, "b": b, "result": None, "result_shape": None, "steps": steps, "error": error, "outer": False}
    steps["stretch the 1s"] = (symbols(result_shape), symbols(result_shape))
    result = a * b if operation == "a * b" else a - b
    outer = result.size > max(a.size, b.size)
    return {"a": a, "b": b, "result": result, "result_shape": result_shape, "steps": steps, "error": None,
            "outer": outer}


def _heat_map(ax: Any, values: np.ndarray, title: str, cmap: str, boxed_diagonal: bool = False) -> None:
    # a 1-D array is drawn as a row: it broadcasts as (1, k)
    grid = values.reshape(1, -1) if values.ndim < 2 else values
    image = ax.imshow(grid, cmap=cmap, vmin=grid.min() - 0.3 * np.ptp(grid) - 1e-9, vmax=grid.max() + 1e-9)
    # white numbers on the dark cells, black on the light ones
    luminance = image.to_rgba(grid)[..., :3] @ np.array([0.299, 0.587, 0.114])
    for (i, j), v in np.ndenumerate(grid):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=9,
                color="white" if luminance[i, j] < 0.5 else "black")
    if boxed_diagonal:
        for k in range(min(grid.shape)):
            ax.add_patch(Rectangle((k - 0.5, k - 0.5), 1, 1, fill=False, ec=PALETTE["black"], lw=2))
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])


def draw_broadcast(figure: Any, data: dict[str, Any], shape_a: str, shape_b: str, operation: str) -> None:
    """Heat maps of a, b and the result with their shapes, and the broadcasting steps as text."""
    fixed_margins(figure, left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.15, hspace=0.25)
    grid = figure.add_gridspec(2, 3, height_ratios=[2, 1.3])
    a_ax, b_ax, r_ax = (figure.add_subplot(grid[0, i]) for i in range(3))
    operand = "b" if operation in ("a - b", "a * b") else operation.split(" - ", 1)[1]
    _heat_map(a_ax, data["a"], f"a: shape {shape_a}", "Blues")
    _heat_map(b_ax, data["b"], f"{operand}: shape {_symbolic(data['b'].shape)}", "Oranges")
    text_ax = figure.add_subplot(grid[1, :])
    text_ax.axis("off")
    if data["error"] is not None:
        r_ax.axis("off")
        r_ax.text(0.5, 0.5, "ValueError", color=PALETTE["vermillion"], ha="center", va="center", fontsize=18,
                  transform=r_ax.transAxes)
        verdict, color = _verdict(data), PALETTE["vermillion"]
    else:
        result = data["result"]
        diagonal = data["outer"] and result.ndim == 2 and result.shape[0] == result.shape[1]
        _heat_map(r_ax, result, f"{operation}\nshape {_symbolic(data['result_shape'])}", "Greens", diagonal)
        verdict, color = _verdict(data), PALETTE["vermillion"] if data["outer"] else PALETTE["green"]
    width = len(data["steps"]["align right"][0])
    lines = [f"{'':<15}{'a':>{4 * width}}    {'b':>{4 * width}}"] + [
        f"{label:<15}" + "".join(f"{d:>4}" for d in dims_a) + "    " + "".join(f"{d:>4}" for d in dims_b)
        for label, (dims_a, dims_b) in data["steps"].items()
    ]
    if min(data["a"].ndim, data["b"].ndim) < 2:
        lines += ["", "(a 1-D array is drawn as a row:", " it broadcasts like a (1, k) array)"]
    text_ax.text(0.0, 1.0, "\n".join(lines), family="monospace", va="top", fontsize=10, transform=text_ax.transAxes)
    text_ax.text(0.5, 1.0, textwrap.fill(verdict, 62), color=color, va="top", fontsize=10, transform=text_ax.transAxes)


def _verdict(data: dict[str, Any]) -> str:
    """What the broadcast means: an error, a silent outer operation, or an elementwise one."""
    if data["error"] is not None:
        return data["error"] + ". numpy stops you: the lucky case."
    result = data["result"]
    if data["outer"]:
        diagonal = result.ndim == 2 and result.shape[0] == result.shape[1]
        return (f"SILENT BUG? {result.size} entries from operands of {data['a'].size} and {data['b'].size}: "
                "an outer operation, and no error. "
                + ("The boxed diagonal is the elementwise result you probably meant. " if diagonal else "")
                + "Give both operands the same shape (squeeze, reshape, keepdims) and assert it.")
    return f"Elementwise: each entry of the result {_symbolic(data['result_shape'])} pairs one a with one b."


def describe_broadcast(data: dict[str, Any], shape_a: str, shape_b: str, operation: str) -> str:
    """The figure in words: the operands, the broadcasting steps, the result's shape and values, the verdict."""
    operand = "b" if operation in ("a - b", "a * b") else operation.split(" - ", 1)[1]

    def values(array: np.ndarray) -> str:
        return np.array2string(array, separator=", ", formatter={"float_kind": lambda v: f"{v:g}"}).replace("\n", "")

    steps = "; ".join(f"{label}: a ({', '.join(d or '-' for d in dims_a)}), b ({', '.join(d or '-' for d in dims_b)})"
                      for label, (dims_a, dims_b) in data["steps"].items())
    result = ("no result" if data["result"] is None else
              f"{operation} has shape {_symbolic(data['result_shape'])}, values {values(data['result'])}")
    return (f"a of shape {shape_a} with N = 4, D = 3, values {values(data['a'])}; {operand} of shape "
            f"{_symbolic(data['b'].shape)}, values {values(data['b'])}. Broadcasting, axes aligned on the right "
            f"(- where an axis does not exist yet): {steps}. {result}. {_verdict(data)}")


@register
def broadcasting_explorer(shape_a: str = "(N,1)", shape_b: str = "(N,)", operation: str = "a - b") -> Explorer:
    """Broadcasting two shapes (N = 4, D = 3): the result shape step by step, and the values.

    Update time: median 54 ms, max 66 ms over the 13 updates of
    ``benchmarks/bench_lectures.py`` (every control moved to 3-4 values) on a 2-core machine
    at load average 1 (wall clock, the same as CPU time there).
    """
    options = list(SHAPES)
    controls = {
        "shape_a": widgets.Dropdown(options=options, value=shape_a, description="a"),
        "shape_b": widgets.Dropdown(options=options, value=shape_b, description="b"),
        "operation": widgets.Dropdown(options=list(OPERATIONS), value=operation, description="operation",
                                      layout=widgets.Layout(width="380px")),
    }
    return Explorer(controls, broadcast_demo, draw_broadcast, figsize=(9.0, 4.6),
                    description="Broadcasting: align right, pad with 1s, stretch the 1s (N = 4, D = 3)",
                    describe=describe_broadcast)
