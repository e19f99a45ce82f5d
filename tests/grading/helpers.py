"""Helpers for testing check targets: run the reference as if it were student code, assert rejections."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import pytest

from dlcourse.grading import GradingError, check, get_target
from dlcourse.grading._core import run_check


def passes_as_reference(target_name: str, hidden: bool) -> str:
    """Run the target's own reference through the student path.

    The reference lives in dlcourse, which student code may not reach, so the
    watch on dlcourse is lifted here (and only here); torch stays forbidden.
    """
    target = get_target(target_name)
    trusted = dataclasses.replace(target, forbidden=("torch",))
    return run_check(trusted, list(target.reference), hidden=hidden)


def assert_rejected(functions: Sequence[Callable], against: str, mistake: str | None = None, match: str | None = None,
                    hidden: bool = False, trusted: bool = False) -> str:
    """``check`` must fail; with ``mistake``, the diagnosis must be that catalogued mistake's id.

    The id is read from ``GradingError.mistake``, not from the feedback's
    sentence, so rewording a sentence breaks no test.  ``match`` is for short,
    stable fragments of contract feedback (a role, a shape).  ``trusted``
    lifts the watch on dlcourse (for the catalogue's own variants, which may
    call reference helpers).
    """
    with pytest.raises(GradingError) as info:
        if trusted:
            run_check(dataclasses.replace(get_target(against), forbidden=("torch",)), list(functions), hidden=hidden)
        else:
            check(*functions, against=against, hidden=hidden, quiet=True)
    message = str(info.value)
    if mistake is not None:
        catalogue = [m.name for m in get_target(against).mistakes]
        assert mistake in catalogue, f"{mistake!r} is not in the catalogue of {against}"
        assert info.value.mistake == mistake, f"diagnosed {info.value.mistake!r}, not {mistake!r}:\n{message}"
    if match is not None:
        assert match in message, message
    return message


def assert_accepted(functions: Sequence[Callable], against: str, trusted: bool = False) -> None:
    """A correct implementation passes both the visible and the hidden checks.

    ``trusted`` lifts the watch on dlcourse (for implementations kept in the catalogue).
    """
    for hidden in (False, True):
        if trusted:
            run_check(dataclasses.replace(get_target(against), forbidden=("torch",)), list(functions), hidden=hidden)
        else:
            check(*functions, against=against, hidden=hidden, quiet=True)


def assert_catalogue_diagnosed(against: str, hidden: bool) -> None:
    """Every catalogued mistake of ``against``, handed in as a student's code, fails with its own id."""
    for mistake in get_target(against).mistakes:
        assert_rejected(list(mistake.impl), against, mistake.name, hidden=hidden, trusted=True)
