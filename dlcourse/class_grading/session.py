"""Grade one submitted notebook: its answer cells run in the sandbox, the instructor's test cells run here.

:func:`grade_notebook` is a pipeline of named stages, each a function with a
clear input and output (as nbgrader's autograde is a list of preprocessors):

1. :func:`read`: the submitted bytes -> the notebook's JSON (or the status
   ``missing`` / ``unreadable``);
2. setup (:func:`~dlcourse.class_grading.environment.setup_context`): the
   instructor's setup cells, run in this trusted process once per process;
   the names they define that solutions may use are given to the worker;
3. :func:`load_answers`: the submission's answer cells (by grade id, nothing
   else of the notebook) run in a fresh sandbox, each cell on its own with a
   time limit; an error in one cell is recorded and the next cell still
   runs, as in a notebook executed with errors allowed;
4. :func:`run_tests`: each of the instructor's test cells (with the hidden
   tests) runs here, in a namespace holding the setup names and, for every
   other name the cell uses, a proxy to the student's function or the value
   of the student's variable.  A cell that finishes earns its points; one
   that raises earns 0 and its error is the feedback, as in ``nbgrader
   autograde``; the error's picture of the failure, if any
   (``GradingError.picture``), is kept for the autograded notebook
   (``PartResult.picture``, drawn by ``NotebookResult.figures``; never part
   of the result's JSON);
5. integrity (:func:`~dlcourse.class_grading.integrity.notebook_flags`):
   red flags for review, never a score change;
6. the :class:`NotebookResult`.

If the worker dies during a test cell (``os._exit``, a limit), that part
fails and the worker is restarted with the same cells for the next part, at
most ``Limits.restarts`` times.  Every notebook has a wall-clock budget; when
it is used up the remaining parts get 0 and the status is ``timeout``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dlcourse.class_grading.environment import Limits, SetupContext, names_used, needs_torch, setup_context
from dlcourse.class_grading.integrity import notebook_flags
from dlcourse.class_grading.notebooks import SourceNotebook, TestCell, Unreadable, read_submission, solution_cells
from dlcourse.class_grading.workers import InProcessAnswers, SandboxedAnswers, SandboxKind, SparePool
from dlcourse.grading._figures import png
from dlcourse.grading._picture import Picture
from dlcourse.sandbox import SandboxError, SandboxTimeout, StudentError
from dlcourse.sandbox.messages import Loaded

FEEDBACK_CHARS = 4000
DEFAULT_LIMITS = Limits()


@dataclass
class PartResult:
    """The result of one part of a notebook: one of the instructor's test cells, scored as nbgrader scores it."""

    grade_id: str
    """the test cell's nbgrader grade id"""
    max_score: float
    """the test cell's points"""
    score: float = 0.0
    """``max_score`` if the test cell finished, else 0"""
    passed: bool = False
    """whether the test cell finished without an error"""
    feedback: str = ""
    """the error the test cell raised (the checks' explanation), or why the part was not graded (capped)"""
    output: str = ""
    """what the test cell printed: the checks' success lines (capped)"""
    mistake: str | None = None
    """the failed check's mistake id (``GradingError.mistake``, e.g. ``adam_no_bias_correction``); None when the
    part passed or the error names no mistake (stored in the results JSON, for change lists and reports)"""
    picture: Picture | None = field(default=None, repr=False)
    """the failed check's picture (``GradingError.picture``), or None; for the autograded notebook only:
    ``NotebookResult.as_dict`` (the results JSON) leaves it out, ``NotebookResult.figures`` draws it"""


@dataclass
class NotebookResult:
    """The result of one submitted notebook; :meth:`as_dict` is what ``results/STUDENT.json`` stores of it."""

    notebook: str
    """the notebook's name (its file stem, as nbgrader names notebooks)"""
    status: str
    """``graded``, or why not every part could be: ``missing``, ``unreadable``, ``timeout``, ``crashed``"""
    max_score: float
    """the points of every test cell of the notebook"""
    parts: list[PartResult]
    """one per test cell, in the notebook's order"""
    cell_errors: list[dict[str, str]] = field(default_factory=list)
    """each answer cell that raised or stopped the worker: ``cell`` (grade id), ``type``, ``message``, ``traceback``"""
    flags: list[dict[str, str]] = field(default_factory=list)
    """integrity flags to review (``kind``, ``cell``, ``detail``); they never change a score"""
    printed: str = ""
    """what the answer cells and the student's functions printed (capped)"""
    sandbox: str = ""
    """where the answer cells ran: ``bwrap``, ``subprocess``, ``in-process`` ("" if they never ran)"""
    seconds: float = 0.0
    """wall-clock time spent on the notebook"""

    @property
    def score(self) -> float:
        """The points earned: the sum of the parts' scores."""
        return float(sum(part.score for part in self.parts))

    @classmethod
    def not_graded(cls, source: SourceNotebook, status: str, why: str, **details: Any) -> NotebookResult:
        """A result whose every part earns 0 with ``why`` as its feedback."""
        return cls(source.name, status, source.max_points, _ungraded(source.tests, why), **details)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data: every field, each part as a dict (its ``picture`` left out: text only), and ``score``."""
        data = asdict(replace(self, parts=[replace(part, picture=None) for part in self.parts])) | {"score": self.score}
        for part in data["parts"]:
            del part["picture"]
        return data

    def figures(self) -> dict[str, bytes]:
        """The PNG of each failed part's picture, by grade id (``dlcourse grade``'s autograded notebooks).

        Drawn only here, so ``dlcourse check``, which prints text, never pays
        for matplotlib; a picture that cannot be drawn is left out.
        """
        drawn = {}
        for part in self.parts:
            if part.picture is not None:
                try:
                    drawn[part.grade_id] = png(part.picture)
                except Exception:
                    continue
        return drawn


class NotGraded(Exception):
    """A stage found that the rest of the notebook cannot be graded: ``status``, ``why`` (the feedback), ``flags``."""

    def __init__(self, status: str, why: str, flags: list[dict[str, str]] | None = None) -> None:
        super().__init__(why)
        self.status, self.why, self.flags = status, why, flags or []


def _ungraded(tests: list[TestCell], why: str) -> list[PartResult]:
    return [PartResult(test.grade_id, test.points, feedback=why) for test in tests]


# ------------------------------------------------------------------ stages


def read(data: bytes | None) -> dict[str, Any]:
    """Stage 1: the submitted notebook's JSON; NotGraded (``missing``, ``unreadable``) if there is none to grade."""
    if data is None:
        raise NotGraded("missing", "the notebook was not submitted")
    try:
        return read_submission(data)
    except Unreadable as error:
        flag = {"kind": "structure", "cell": "", "detail": f"notebook cannot be read: {error}"}
        raise NotGraded("unreadable", f"the notebook could not be read: {error}", [flag]) from None


def load_answers(answers: SandboxedAnswers | InProcessAnswers, limits: Limits) -> Loaded:
    """Stage 3: the answer cells run; what they defined and each failed cell's error.

    NotGraded (``timeout``, ``crashed``) when the worker cannot finish them.
    """
    try:
        return answers.start()
    except SandboxTimeout:
        raise NotGraded("timeout", f"the solution cells did not finish within the notebook's {limits.notebook_s:g} s"
                        ) from None
    except SandboxError as error:
        raise NotGraded("crashed", f"the solution cells stopped the sandboxed worker: {error}") from None


def _picture_of(error: BaseException) -> Picture | None:
    """The check's picture of the failure (``GradingError.picture``), or None (any other error)."""
    picture = getattr(error, "picture", None)
    return picture if isinstance(picture, Picture) else None


def _mistake_of(error: BaseException) -> str | None:
    """The check's mistake id (``GradingError.mistake``), or None (no name, or any other error)."""
    mistake = getattr(error, "mistake", None)
    return mistake if isinstance(mistake, str) and mistake else None


def _feedback(error: BaseException) -> str:
    text = str(error) if isinstance(error, AssertionError) and str(error) else f"{type(error).__name__}: {error}"
    if isinstance(error, NameError):
        text += ("\n  The graded code is the answer cells only: define it there (a cell you added is not run), and "
                 "check that the answer cell runs without an error.")
    return text[:FEEDBACK_CHARS]


def run_test(test: TestCell, context: SetupContext, answers: SandboxedAnswers | InProcessAnswers) -> PartResult:
    """One trusted test cell, its other names bound to the student's functions and variables; its part's result."""
    namespace = dict(context.namespace)
    wanted = [name for name in names_used(test.source) if name not in namespace and not hasattr(builtins, name)]
    try:
        namespace.update(answers.bindings(wanted))
    except StudentError as error:
        return PartResult(test.grade_id, test.points, feedback=f"a variable of the solution cells could not be read: "
                                                               f"{error}")
    except SandboxError as error:
        return PartResult(test.grade_id, test.points, feedback=f"the sandboxed worker failed: {error}")
    printed = io.StringIO()
    try:
        code = compile(test.source, f"<test cell {test.grade_id}>", "exec")
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            exec(code, namespace)
    except (Exception, SystemExit) as error:  # the checks' verdict (GradingError) or an error the student caused
        return PartResult(test.grade_id, test.points, feedback=_feedback(error),
                          output=printed.getvalue()[:FEEDBACK_CHARS], picture=_picture_of(error),
                          mistake=_mistake_of(error))
    return PartResult(test.grade_id, test.points, score=test.points, passed=True,
                      output=printed.getvalue()[:FEEDBACK_CHARS])


def run_tests(source: SourceNotebook, context: SetupContext, answers: SandboxedAnswers | InProcessAnswers,
              limits: Limits) -> tuple[list[PartResult], str]:
    """Stage 4: every test cell in order; the parts' results and the status (``graded``, ``timeout``, ``crashed``).

    Before each part the budget is checked and a worker that died is
    restarted; when either fails, the parts not reached get 0 with the reason.
    """
    parts: list[PartResult] = []
    restarts = 0
    for test in source.tests:
        status, why = "graded", ""
        if time.monotonic() >= answers.deadline:
            status, why = "timeout", f"not graded: the notebook used up its {limits.notebook_s:g} s budget"
        elif not answers.alive:
            restarts += 1
            if restarts > limits.restarts:
                status, why = "crashed", "not graded: the sandboxed worker kept dying"
            else:
                try:
                    answers.start()
                except SandboxError as error:
                    status, why = "crashed", f"not graded: the sandboxed worker could not be restarted ({error})"
        if status != "graded":
            return parts + _ungraded(source.tests[len(parts):], why), status
        parts.append(run_test(test, context, answers))
    return parts, "graded"


# ------------------------------------------------------------------ the pipeline


def grade_notebook(source: SourceNotebook, data: bytes | None, limits: Limits = DEFAULT_LIMITS,
                   use_bwrap: bool | None = None, sandboxed: bool = True,
                   spares: SparePool | None = None) -> NotebookResult:
    """The result of one submitted notebook (``data`` None: not submitted).

    ``sandboxed=False`` (a student's own check where no sandbox exists) runs
    the answer cells in this process.  ``spares`` (a batch's pool) provides
    sandboxes started ahead of time.
    """
    started = time.monotonic()

    def seconds() -> float:
        return round(time.monotonic() - started, 3)

    try:
        notebook = read(data)
    except NotGraded as stop:
        return NotebookResult.not_graded(source, stop.status, stop.why, flags=stop.flags, seconds=seconds())
    context = setup_context(source)
    deadline = time.monotonic() + limits.notebook_s
    cells = solution_cells(notebook, source)
    if sandboxed:
        kind = SandboxKind(limits, use_bwrap, needs_torch(source), context.setup, context.provide)
        answers: SandboxedAnswers | InProcessAnswers = SandboxedAnswers(kind, cells, deadline, spares)
    else:
        answers = InProcessAnswers(context, cells, deadline)
    try:
        loaded = load_answers(answers, limits)
        mode = answers.mode
        parts, status = run_tests(source, context, answers, limits)
    except NotGraded as stop:
        loaded, mode = Loaded([], [], [], []), ""
        parts, status = _ungraded(source.tests, stop.why), stop.status
    finally:
        answers.close()
    flags = [flag.as_dict() for flag in notebook_flags(notebook, source.notebook)]
    return NotebookResult(source.name, status, source.max_points, parts, cell_errors=loaded.errors, flags=flags,
                          printed=answers.printed[:FEEDBACK_CHARS], sandbox=mode, seconds=seconds())


__all__ = ["NotGraded", "NotebookResult", "PartResult", "grade_notebook", "load_answers", "read",
           "run_test", "run_tests"]
