"""Lecture 09's widgets, importable from one place (they live in topic modules).

* ``lr_sweep_explorer`` (``dlcourse.widgets.lr_sweep``): a learning-rate sweep on the digits.
* ``broadcasting_explorer`` (``dlcourse.widgets.broadcasting``): broadcasting two shapes step by step.

The lecture's training helpers (the standardized digits split, the training
loop, ``accuracy``, ``autograd_graph_size``) are in ``dlcourse.training``.
"""

from __future__ import annotations

from dlcourse.widgets.broadcasting import broadcasting_explorer
from dlcourse.widgets.lr_sweep import lr_sweep_explorer

__all__ = ["broadcasting_explorer", "lr_sweep_explorer"]
