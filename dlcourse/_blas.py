"""Running BLAS on one thread, for the course's small matrices.

The matrices of the course's networks are far too small to split over
threads: on a busy 2-core machine OpenBLAS's threads made a 64 x 128 product
10-50x slower (92 ms vs 6.6 ms per digits epoch).  The training loop
(``dlcourse.training.fit``) and the widgets run their products inside
:func:`one_blas_thread`.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["one_blas_thread"]


@functools.cache
def _blas_controller() -> Any:
    # inspecting the loaded libraries costs a few ms: do it once
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context manager running BLAS on one thread (threadpoolctl, which comes with scikit-learn).

    Example:
        >>> import numpy as np
        >>> with one_blas_thread():
        ...     float((np.ones((2, 3)) @ np.ones(3)).sum())
        6.0
    """
    return _blas_controller().limit(limits=1, user_api="blas")
