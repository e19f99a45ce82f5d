"""What the sandbox gives the solution cells in place of the setup cells' non-numpy imports.

The instructor's setup cells run in the trusted grader (they import
``dlcourse.grading``, scipy, tqdm, matplotlib); the solution cells run in the
worker, where only numpy and the standard library exist.  For the names a
setup cell defines that solutions may use, the worker gets an equivalent:

* ``HELPERS``: numpy-only stand-ins, by name: ``erf`` (scipy.special.erf,
  elementwise through :func:`math.erf`, which is correctly rounded to within
  1 ulp, so results match scipy's to ~1e-16), ``tqdm``/``trange`` (the loop
  runs unchanged; no bar is drawn inside the sandbox).
* :func:`returning`: a function of no arguments returning fresh copies of
  data the grader computed (the course's fixed digits split).

This module imports numpy and the standard library only; inside the sandbox
it is imported as the top-level module ``provided``.
"""

from __future__ import annotations

import collections
import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def erf(x: Any) -> Any:
    """The error function elementwise, like ``scipy.special.erf`` (float64; a float for a scalar input)."""
    values = np.asarray(x, dtype=np.float64)
    result = _erf_ufunc(values).astype(np.float64)
    return float(result) if np.ndim(x) == 0 and not isinstance(x, np.ndarray) else result


class QuietProgress:
    """``tqdm(iterable, ...)`` without a bar: iterates, and accepts the methods a training loop calls."""

    def __init__(self, iterable: Iterable | None = None, *args: Any, **kwargs: Any) -> None:
        self.iterable = iterable if iterable is not None else range(int(kwargs.get("total") or 0))
        self.n = 0

    def __iter__(self) -> Any:
        for item in self.iterable:
            self.n += 1
            yield item

    def __len__(self) -> int:
        return len(self.iterable)  # type: ignore[arg-type]

    def __enter__(self) -> QuietProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    set_postfix = set_description = set_postfix_str = set_description_str = refresh = close = write = _ignore

    def update(self, n: int = 1) -> None:
        self.n += n


def trange(*args: Any, **kwargs: Any) -> QuietProgress:
    return QuietProgress(range(*args), **kwargs)


HELPERS: dict[str, Callable[..., Any]] = {"erf": erf, "tqdm": QuietProgress, "trange": trange}


def returning(name: str, spec: dict[str, Any]) -> Callable[[], Any]:
    """A function ``name()`` returning a fresh copy of ``spec["value"]`` (a namedtuple if ``spec`` names fields)."""
    value = spec["value"]
    fields = spec.get("fields")
    kind = collections.namedtuple(str(spec.get("type_name", "Result")), fields) if fields else None

    def function() -> Any:
        fresh = copy.deepcopy(value)
        return kind(*fresh) if kind is not None else fresh

    function.__name__ = name
    return function


__all__ = ["HELPERS", "QuietProgress", "erf", "returning", "trange"]
