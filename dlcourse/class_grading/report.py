"""The instructor's report of one graded assignment: what the class got wrong, as one HTML file.

``dlcourse report ASSIGNMENT`` reads the stored results (``dlcourse_grades/ASSIGNMENT/results/*.json``)
and writes ``dlcourse_grades/ASSIGNMENT/report.html``: self-contained (figures embedded as PNG, no
server, no network), readable printed and without its figures (each has a text alternative and the
same numbers are in tables).  In order:

1. the score distribution (a histogram, and the quartiles in words);
2. per part: how many passed, the mean points;
3. the named mistakes ranked by how many students made them, each with its fix (the feedback's
   ``Likely cause`` / ``Possibly`` sentence) and the students concerned; a checkbox hides the names
   for projecting the page in class;
4. failures without a name, grouped by what they share (the part, and the first line of the
   feedback with its numbers taken out: "trial N of M failed: a single value", "raised TypeError");
5. submissions not fully graded (missing, unreadable, timeout, crashed) and integrity flags to review;
6. late submissions: the penalty the gradebook applied (from ``grades.csv``'s ``late_penalty``) and the
   final score;
7. the grading time.

:func:`summarize` computes the numbers (plain data, tested on its own); :func:`render` writes the page.
"""

from __future__ import annotations

import base64
import html
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlcourse.class_grading import results as R
from dlcourse.grading._figures import figure_png

# Okabe & Ito's colour-blind-safe blue and green (the widgets' palette; the grader does not import the widgets)
_BLUE, _GREEN = "#0072B2", "#009E73"
_CAUSE = re.compile(r"^(Likely cause|Possibly): (.*)", re.M)


@dataclass
class Mistake:
    """One named mistake across the class: its id, the fix, and who made it (in which parts)."""

    id: str
    fix: str
    students: list[str] = field(default_factory=list)
    parts: Counter = field(default_factory=Counter)


@dataclass
class Summary:
    """Everything the report shows, computed from the stored results of one assignment."""

    assignment: str
    scores: dict[str, float]
    max_score: float
    parts: list[dict[str, Any]]
    """per part: notebook, grade_id, max_score, passed (count), graded (count), mean"""
    mistakes: list[Mistake]
    """named mistakes, most frequent first"""
    unnamed: list[tuple[str, list[str]]]
    """(what the failures share, students), largest group first"""
    statuses: dict[str, list[str]]
    """status other than graded -> students"""
    flags: list[tuple[str, str, dict[str, str]]]
    """(student, notebook, flag)"""
    seconds: float
    late: dict[str, float] = field(default_factory=dict)
    """student -> late-submission penalty, for the students who have one"""


def _shape(feedback: str) -> str:
    """The first line of a feedback, its numbers replaced, so that alike failures group together."""
    first = feedback.strip().splitlines()[0] if feedback.strip() else "failed without a message"
    first = re.sub(r"^[\w, ]+: (trial)", r"\1", first)
    return re.sub(r"\d+(\.\d+)?(e-?\d+)?", "N", first)[:160]


def summarize(stored: list[dict[str, Any]], late_penalties: dict[str, float] | None = None) -> Summary:
    """The report's numbers from the stored results of one assignment (one dict per student), and the
    late-submission penalties by student (``grades.csv``'s ``late_penalty``; None: none known)."""
    if not stored:
        raise ValueError("there are no stored results to report on: run `dlcourse grade ASSIGNMENT` first")
    assignment = stored[0]["assignment"]
    parts: dict[tuple[str, str], dict[str, Any]] = {}
    mistakes: dict[str, Mistake] = {}
    unnamed: dict[str, list[str]] = defaultdict(list)
    statuses: dict[str, list[str]] = defaultdict(list)
    flags = []
    for result in sorted(stored, key=lambda item: item["student"]):
        student = result["student"]
        if result["status"] != "graded":
            statuses[result["status"]].append(student)
        for notebook in result["notebooks"]:
            flags += [(student, notebook["notebook"], flag) for flag in notebook.get("flags", [])]
            for part in notebook["parts"]:
                key = (notebook["notebook"], part["grade_id"])
                row = parts.setdefault(key, {"notebook": key[0], "grade_id": key[1], "max_score": part["max_score"],
                                             "passed": 0, "graded": 0, "points": 0.0})
                row["graded"] += 1
                row["passed"] += bool(part["passed"])
                row["points"] += float(part["score"])
                if part["passed"] or notebook["status"] != "graded":  # not graded: listed under its status
                    continue
                mistake = part.get("mistake")
                if mistake:
                    cause = _CAUSE.findall(part["feedback"])
                    entry = mistakes.setdefault(mistake, Mistake(mistake, cause[-1][1] if cause else ""))
                    entry.students.append(student)
                    entry.parts[part["grade_id"]] += 1
                else:
                    unnamed[f"{part['grade_id']}: {_shape(part['feedback'])}"].append(student)
    for row in parts.values():
        row["mean"] = row.pop("points") / row["graded"] if row["graded"] else 0.0
    return Summary(
        assignment=assignment,
        scores={result["student"]: float(result["score"]) for result in stored},
        max_score=max(float(result["max_score"]) for result in stored),
        parts=list(parts.values()),
        mistakes=sorted(mistakes.values(), key=lambda entry: (-len(entry.students), entry.id)),
        unnamed=sorted(unnamed.items(), key=lambda item: (-len(item[1]), item[0])),
        statuses=dict(statuses),
        flags=flags,
        seconds=float(sum(result.get("seconds", 0.0) for result in stored)),
        late={student: penalty for student, penalty in sorted((late_penalties or {}).items()) if penalty > 0},
    )


def _png(figure: Any) -> str:
    """The figure as base64 PNG text, for an ``<img src='data:image/png;base64,...'>``."""
    return base64.b64encode(figure_png(figure)).decode("ascii")


def _figures(summary: Summary) -> list[tuple[str, str]]:
    """(PNG as base64, text alternative) of the score histogram and of the pass rate per part."""
    from matplotlib.figure import Figure

    scores = list(summary.scores.values())
    histogram = Figure(figsize=(6, 2.6), dpi=90)
    axes = histogram.add_subplot()
    bins = min(20, max(5, int(summary.max_score) + 1))
    axes.hist(scores, bins=bins, range=(0, summary.max_score), color=_BLUE, edgecolor="white")
    axes.set(xlabel="score", ylabel="students", title=f"Scores of {len(scores)} submissions")
    histogram.subplots_adjust(left=0.11, right=0.98, bottom=0.2, top=0.86)
    quartiles = statistics.quantiles(scores, n=4) if len(scores) > 1 else [scores[0]] * 3
    histogram_text = (f"Histogram of {len(scores)} scores out of {summary.max_score:g}: median {quartiles[1]:.3g}, "
                      f"quartiles {quartiles[0]:.3g} and {quartiles[2]:.3g}, lowest {min(scores):g}, "
                      f"highest {max(scores):g}.")
    height = 1.3 + 0.3 * len(summary.parts)  # inches: title and axis label have fixed room, bars grow
    rates = Figure(figsize=(6, height), dpi=90)
    axes = rates.add_subplot()
    names = [row["grade_id"] for row in summary.parts]
    shares = [row["passed"] / row["graded"] if row["graded"] else 0.0 for row in summary.parts]
    axes.barh(names[::-1], shares[::-1], color=_GREEN)
    axes.set(xlim=(0, 1), xlabel="share of students who passed", title="Pass rate per part")
    rates.subplots_adjust(left=0.3, right=0.97, bottom=0.6 / height, top=1 - 0.35 / height)
    rates_text = "Pass rate per part: " + "; ".join(f"{name} {share:.0%}" for name, share in zip(names, shares,
                                                                                                 strict=True)) + "."
    return [(_png(histogram), histogram_text), (_png(rates), rates_text)]


_STYLE = """
body { font-family: sans-serif; max-width: 60em; margin: 1em auto; line-height: 1.4; }
table { border-collapse: collapse; margin: 0.5em 0 1em; } td, th { border: 1px solid #999; padding: 0.2em 0.5em; }
th { background: #eee; text-align: left; } .names-hidden .who { visibility: hidden; }
figure { margin: 0.5em 0; } figcaption { font-size: 0.9em; }
@media print { .toggle { display: none; } h2 { page-break-after: avoid; } table, figure { page-break-inside: avoid; } }
"""


def render(summary: Summary, figures: bool = True) -> str:
    """The report as one self-contained HTML page (every text from student results is escaped)."""
    e = html.escape
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{e(summary.assignment)}: class "
           f"report</title><style>{_STYLE}</style></head><body id='page'>",
           f"<h1>{e(summary.assignment)}: what the class got wrong</h1>",
           "<p class='toggle'><label><input type='checkbox' onchange=\"document.getElementById('page').classList"
           ".toggle('names-hidden', this.checked)\"> hide student names (for projecting)</label></p>"]
    scores = list(summary.scores.values())
    out.append(f"<h2>Scores</h2><p>{len(scores)} submissions, mean {statistics.fmean(scores):.3g} of "
               f"{summary.max_score:g}, median {statistics.median(scores):.3g}.</p>")
    drawn = _figures(summary) if figures else []
    if drawn:
        out.append(f"<figure><img src='data:image/png;base64,{drawn[0][0]}' alt='{e(drawn[0][1])}'>"
                   f"<figcaption>{e(drawn[0][1])}</figcaption></figure>")
    out.append("<h2>Parts</h2><table><tr><th>notebook</th><th>part</th><th>passed</th><th>mean points</th></tr>")
    out += [f"<tr><td>{e(row['notebook'])}</td><td>{e(row['grade_id'])}</td><td>{row['passed']} of "
            f"{row['graded']}</td><td>{row['mean']:.2f} of {row['max_score']:g}</td></tr>" for row in summary.parts]
    out.append("</table>")
    if drawn:
        out.append(f"<figure><img src='data:image/png;base64,{drawn[1][0]}' alt='{e(drawn[1][1])}'>"
                   f"<figcaption>{e(drawn[1][1])}</figcaption></figure>")
    out.append("<h2>Named mistakes, most frequent first</h2>")
    if summary.mistakes:
        out.append("<table><tr><th>students</th><th>mistake</th><th>the fix</th><th>parts</th><th>who</th></tr>")
        out += [f"<tr><td>{len(m.students)}</td><td><code>{e(m.id)}</code></td><td>{e(m.fix)}</td>"
                f"<td>{e(', '.join(f'{p} ({n})' for p, n in m.parts.most_common()))}</td>"
                f"<td class='who'>{e(', '.join(m.students))}</td></tr>" for m in summary.mistakes]
        out.append("</table>")
    else:
        out.append("<p>No failure was given a name.</p>")
    out.append("<h2>Failures without a name, grouped</h2>")
    if summary.unnamed:
        out.append("<table><tr><th>students</th><th>what they share</th><th>who</th></tr>")
        out += [f"<tr><td>{len(who)}</td><td>{e(shape)}</td><td class='who'>{e(', '.join(who))}</td></tr>"
                for shape, who in summary.unnamed]
        out.append("</table>")
    else:
        out.append("<p>None.</p>")
    out.append("<h2>Not fully graded, and integrity flags to review</h2><ul>")
    out += [f"<li>{e(status)}: {len(who)} (<span class='who'>{e(', '.join(who))}</span>)</li>"
            for status, who in sorted(summary.statuses.items())] or ["<li>every submission was graded</li>"]
    out += [f"<li>flag <span class='who'>{e(student)}</span>, {e(notebook)}: [{e(flag.get('kind', ''))}] "
            f"{e(flag.get('detail', ''))}</li>" for student, notebook, flag in summary.flags]
    out.append("</ul><h2>Late submissions</h2>")
    if summary.late:
        out.append("<table><tr><th>who</th><th>score</th><th>late penalty</th><th>final score</th></tr>")
        out += [f"<tr><td class='who'>{e(student)}</td><td>{summary.scores.get(student, 0.0):g}</td>"
                f"<td>{penalty:g}</td><td>{max(0.0, summary.scores.get(student, 0.0) - penalty):g}</td></tr>"
                for student, penalty in summary.late.items()]
        out.append("</table>")
    else:
        out.append("<p>No late penalty was applied.</p>")
    out.append(f"<h2>Grading time</h2><p>{summary.seconds:.1f} s of grading in all, "
               f"{summary.seconds / len(scores):.2f} s per submission.</p></body></html>")
    return "\n".join(out)


def _late_penalties(path: Path) -> dict[str, float]:
    """student -> ``late_penalty`` from the grades.csv that ``dlcourse grade`` wrote ({} without the file or column)."""
    import csv

    try:
        with open(path, newline="") as handle:
            return {row["student"]: float(row["late_penalty"]) for row in csv.DictReader(handle)
                    if row.get("late_penalty")}
    except (OSError, KeyError, ValueError):
        return {}


def write_report(results_root: Path, assignment: str, figures: bool = True) -> Path:
    """Read the stored results of ``assignment`` and write ``results_root/ASSIGNMENT/report.html``; its path."""
    folder = R.result_dir(Path(results_root), assignment)
    stored = [result for path in sorted(folder.glob("*.json")) if (result := R.read_result(path)) is not None]
    page = render(summarize(stored, _late_penalties(Path(results_root) / assignment / "grades.csv")), figures=figures)
    path = Path(results_root) / assignment / "report.html"
    R.atomic_write(path, page)
    return path
