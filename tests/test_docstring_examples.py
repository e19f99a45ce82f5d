"""The examples in the reference library's docstrings run and show exactly what they print.

How: the standard library's ``doctest`` finds the ``>>>`` examples of every
module in the LITERAL list ``REFERENCE_MODULES``, and each docstring becomes
one test here (``test_docstring_example[dlcourse.norm.batchnorm.batchnorm_forward]``),
run with the option flags configured once in pyproject.toml
(``doctest_optionflags``: NORMALIZE_WHITESPACE, ELLIPSIS).

Why not ``--doctest-modules`` with ``dlcourse`` in ``testpaths``: that would
import every module of the package at collection in every xdist worker (the
sandbox worker, the class grader, the widgets with matplotlib and ipywidgets),
collect ``dlcourse/sandbox/test_functions.py`` as a test module because of its
name, and run any ``>>>`` text in grading or widget modules that was never
meant as an example.  Here only the reference library is imported (numpy only;
scikit-learn, scipy and torch are imported lazily by the few examples that need
them), the items are the same in every worker (a literal list, sorted
docstrings), so ``pytest -n auto`` distributes them like any other test, and a
module missing from the list fails ``test_the_list_names_every_reference_module``.
"""

from __future__ import annotations

import copy
import doctest
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dlcourse"

# Every module of the reference library (the package minus the layers built on it).
REFERENCE_MODULES = (
    "dlcourse",
    "dlcourse._blas",
    "dlcourse._checks",
    "dlcourse.activation_layers",
    "dlcourse.activations",
    "dlcourse.activations._common",
    "dlcourse.activations.exponential",
    "dlcourse.activations.rectifiers",
    "dlcourse.activations.saturating",
    "dlcourse.activations.smooth",
    "dlcourse.adaptive_variance",
    "dlcourse.augmentation",
    "dlcourse.autograd",
    "dlcourse.autograd.ops",
    "dlcourse.autograd.scalar",
    "dlcourse.autograd.shapes",
    "dlcourse.autograd.tensor",
    "dlcourse.backprop",
    "dlcourse.backprop.gates",
    "dlcourse.backprop.worked_examples",
    "dlcourse.batchnorm_mlp",
    "dlcourse.dead_units",
    "dlcourse.batchnorm_why",
    "dlcourse.data",
    "dlcourse.data.batches",
    "dlcourse.data.datasets",
    "dlcourse.data.mnist",
    "dlcourse.data.splits",
    "dlcourse.early_stopping",
    "dlcourse.experiments",
    "dlcourse.gradcheck",
    "dlcourse.gradient_noise",
    "dlcourse.init",
    "dlcourse.landscape",
    "dlcourse.layers",
    "dlcourse.losses",
    "dlcourse.lottery",
    "dlcourse.memorization",
    "dlcourse.momentum_theory",
    "dlcourse.newton",
    "dlcourse.nonconvergence",
    "dlcourse.norm",
    "dlcourse.norm._common",
    "dlcourse.norm.batchnorm",
    "dlcourse.norm.groupnorm",
    "dlcourse.norm.layernorm",
    "dlcourse.norm.rmsnorm",
    "dlcourse.optim",
    "dlcourse.optim._common",
    "dlcourse.optim.adam",
    "dlcourse.optim.adaptive",
    "dlcourse.optim.lion",
    "dlcourse.optim.momentum_forms",
    "dlcourse.optim.radam",
    "dlcourse.optim.sgd",
    "dlcourse.optim.torch_adapter",
    "dlcourse.optim.wrappers",
    "dlcourse.regression",
    "dlcourse.regularization",
    "dlcourse.sanity",
    "dlcourse.sawtooth",
    "dlcourse.schedules",
    "dlcourse.schedules.clipping",
    "dlcourse.schedules.learning_rate",
    "dlcourse.stacked",
    "dlcourse.surfaces",
    "dlcourse.training",
    "dlcourse.transfer",
    "dlcourse.agreement",
)

# Built on the reference library, not part of it: no docstring examples run from these.
NOT_REFERENCE = (
    "dlcourse.cli",
    "dlcourse.class_grading",
    "dlcourse.grading",
    "dlcourse.sandbox",
    "dlcourse.widgets",
)

# Modules where every public function and class (``__all__``) must show an example.
EXAMPLES_REQUIRED = (
    "dlcourse._blas",
    "dlcourse._checks",
    "dlcourse.activation_layers",
    "dlcourse.activations.exponential",
    "dlcourse.activations.rectifiers",
    "dlcourse.activations.saturating",
    "dlcourse.activations.smooth",
    "dlcourse.adaptive_variance",
    "dlcourse.augmentation",
    "dlcourse.autograd.ops",
    "dlcourse.autograd.scalar",
    "dlcourse.autograd.shapes",
    "dlcourse.autograd.tensor",
    "dlcourse.backprop.gates",
    "dlcourse.backprop.worked_examples",
    "dlcourse.dead_units",
    "dlcourse.batchnorm_why",
    "dlcourse.data.batches",
    "dlcourse.data.datasets",
    "dlcourse.data.mnist",
    "dlcourse.data.splits",
    "dlcourse.early_stopping",
    "dlcourse.experiments",
    "dlcourse.gradcheck",
    "dlcourse.gradient_noise",
    "dlcourse.init",
    "dlcourse.landscape",
    "dlcourse.layers",
    "dlcourse.losses",
    "dlcourse.lottery",
    "dlcourse.memorization",
    "dlcourse.momentum_theory",
    "dlcourse.newton",
    "dlcourse.nonconvergence",
    "dlcourse.norm._common",
    "dlcourse.norm.batchnorm",
    "dlcourse.norm.groupnorm",
    "dlcourse.norm.layernorm",
    "dlcourse.norm.rmsnorm",
    "dlcourse.regularization",
    "dlcourse.regression",
    "dlcourse.sanity",
    "dlcourse.sawtooth",
    "dlcourse.schedules.clipping",
    "dlcourse.schedules.learning_rate",
    "dlcourse.stacked",
    "dlcourse.transfer",
)

# numpy's default print options, set for every example: a test that changed
# them (np.set_printoptions) must not change what an example prints.
NUMPY_PRINT_DEFAULTS = {
    "precision": 8, "threshold": 1000, "edgeitems": 3, "linewidth": 75, "suppress": False,
    "nanstr": "nan", "infstr": "inf", "sign": "-", "floatmode": "maxprec", "legacy": False,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_reference(module: str) -> bool:
    return not any(module == outside or module.startswith(outside + ".") for outside in NOT_REFERENCE)


def _docstrings_with_examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder()  # each module's own objects only, not what it re-exports
    return [test for name in REFERENCE_MODULES for test in finder.find(importlib.import_module(name)) if test.examples]


DOCSTRINGS = _docstrings_with_examples()


def _optionflags(config: pytest.Config) -> int:
    flags = 0
    for name in config.getini("doctest_optionflags"):
        flags |= doctest.OPTIONFLAGS_BY_NAME[name]
    return flags


def _run(test: doctest.DocTest, optionflags: int) -> tuple[doctest.TestResults, str]:
    test = copy.copy(test)
    test.globs = dict(test.globs)  # the runner clears the namespace it was given
    runner = doctest.DocTestRunner(optionflags=optionflags)
    report: list[str] = []
    with np.printoptions(**NUMPY_PRINT_DEFAULTS):
        results = runner.run(test, out=report.append)
    return results, "".join(report)


@pytest.mark.parametrize("test", DOCSTRINGS, ids=[test.name for test in DOCSTRINGS])
def test_docstring_example(test, pytestconfig):
    results, report = _run(test, _optionflags(pytestconfig))
    assert results.failed == 0, f"{test.name} ({test.filename}:{test.lineno}):\n{report}"


def test_the_list_names_every_reference_module():
    on_disk = {_module_name(path) for path in PACKAGE.rglob("*.py")}
    reference = {module for module in on_disk if _is_reference(module)}
    assert not reference - set(REFERENCE_MODULES), "add these to REFERENCE_MODULES"
    assert not set(REFERENCE_MODULES) - reference, "these are listed but are not reference modules on disk"


@pytest.mark.parametrize("module", EXAMPLES_REQUIRED)
def test_every_public_function_and_class_shows_an_example(module):
    imported = importlib.import_module(module)
    without = [
        name for name in imported.__all__
        if (inspect.isfunction(getattr(imported, name)) or inspect.isclass(getattr(imported, name)))
        and ">>>" not in (inspect.getdoc(getattr(imported, name)) or "")
    ]
    assert not without, f"{module}: no runnable example in the docstring of {without}"


def test_a_wrong_example_fails_and_says_why(pytestconfig):
    parser = doctest.DocTestParser()
    wrong = parser.get_doctest(">>> np.array([1.0, 2.0]) * 2\narray([2., 5.])\n", {"np": np}, "wrong", "<test>", 0)
    results, report = _run(wrong, _optionflags(pytestconfig))
    assert results.failed == 1 and "Expected:\n    array([2., 5.])\nGot:\n    array([2., 4.])" in report


def test_examples_are_printed_with_numpy_defaults(pytestconfig):
    example = doctest.DocTestParser().get_doctest(">>> np.array([1 / 3])\narray([0.33333333])\n",
                                                  {"np": np}, "precision", "<test>", 0)
    with np.printoptions(precision=2):
        results, _ = _run(example, _optionflags(pytestconfig))
    assert results.failed == 0
