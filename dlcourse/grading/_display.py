"""How a failing check shows in a notebook: the feedback itself, not a traceback through dlcourse.

A check that fails raises :class:`~dlcourse.grading._report.GradingError`.  In IPython (JupyterLab,
Jupyter Notebook, nbclient under ``nbgrader autograde``) the default display of an exception is a
traceback that walks through ``dlcourse``'s own files before the feedback, which a student must scroll
to find.  :func:`install` registers a handler for ``GradingError`` with the running IPython shell that
shows the message alone, lines wrapped at :data:`WIDTH` characters, and under it the error's picture
(a trajectory, a function's curves, a histogram of random draws: ``GradingError.picture``) as one small
PNG, when the check has one.  Drawing is best effort: if it fails, the feedback stands alone.

The cell still fails everywhere it is graded: IPython records the error (``error_in_exec``), and the
handler publishes it as the cell's ``error`` output, which is what nbgrader's autograder and Validate,
and the kernel's reply, count.  Outside IPython nothing changes (a script prints the usual traceback;
``dlcourse grade`` and ``dlcourse check`` read the message).
"""

from __future__ import annotations

import sys
import textwrap
from typing import Any

from dlcourse.grading._report import GradingError

# nbgrader's feedback page and a notebook cell show about 90 characters without scrolling; nbgrader's
# Validate indents the error by 4 and cuts every line longer than 87 (its width 90, less "..."), so 83.
WIDTH = 83
_RED, _RESET = "\x1b[31m", "\x1b[0m"


def wrap(message: str, width: int = WIDTH) -> list[str]:
    """``message``'s lines, each longer one wrapped at ``width`` with its indentation kept (+2 spaces).

    Words are never split (a long number or path stays whole on its own line).

    >>> for line in wrap("Likely cause: " + "word " * 20, width=40):
    ...     print(line)
    Likely cause: word word word word word
      word word word word word word word
      word word word word word word word
      word
    """
    lines = []
    for line in message.splitlines() or [""]:
        if len(line) <= width:
            lines.append(line)
            continue
        indent = line[: len(line) - len(line.lstrip())]
        lines += textwrap.wrap(line, width=width, subsequent_indent=indent + "  ", break_long_words=False,
                               break_on_hyphens=False)
    return lines


def feedback_lines(error: BaseException) -> list[str]:
    """What a notebook shows for a failed check: a one-line header, then the feedback, wrapped."""
    return [f"{_RED}{type(error).__name__}{_RESET}: the check failed", *wrap(str(error))]


def _show_picture(error: BaseException) -> None:
    """Display the error's picture as a PNG in the current cell's output; nothing if it has none or fails."""
    picture = getattr(error, "picture", None)
    if picture is None:
        return
    try:
        from IPython.display import Image, display  # a running shell has imported IPython

        from dlcourse.grading._figures import png

        display(Image(data=png(picture), format="png"))
    except Exception:  # a picture must never hide the feedback, nor turn into an error of its own
        return


def _show_feedback(shell: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
    # IPython's run_code records the error and calls this handler; the handler must display it itself.
    lines = feedback_lines(value)
    shell._showtraceback(etype, value, lines)
    # Text first, then the figure: the red "GradingError: the check failed" header stays at the top of the
    # output, where JupyterLab (and nbgrader's feedback page) put a cell's error, the student reads which
    # trial failed before looking at it, and the figure, a few lines tall, never pushes the feedback out of
    # view.  Drawn only now, after the text is out, so a slow or failing drawing cannot delay or hide it.
    _show_picture(value)
    return lines


def install() -> bool:
    """Show failed checks as their feedback in the running IPython shell; True if a shell took it.

    Leaves a shell alone that already handles other exceptions of its own (IPython keeps one handler).
    """
    # A running shell has imported IPython already; elsewhere (a script, dlcourse grade's workers)
    # importing it would only cost start-up time, so look it up instead of importing it.
    ipython = sys.modules.get("IPython")
    if ipython is None:  # plain Python: the usual traceback, which starts with the feedback anyway
        return False
    shell = ipython.get_ipython()
    if shell is None or not hasattr(shell, "set_custom_exc"):
        return False
    handled = tuple(getattr(shell, "custom_exceptions", ()))
    if GradingError in handled:
        return True
    if handled:
        return False
    shell.set_custom_exc((GradingError,), _show_feedback)
    return True
