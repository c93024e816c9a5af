"""What to offer when a graph does not fit the chosen data: only fixes that really lead to a graph
that validates and fits, and the datasets and tasks the graph already fits as it is.

A Transformer on `shapes` once got "Set tokens shape to [1, 28, 28]" and "Set tokens dtype to
float": each was right about the Input, and together they left an Embedding fed with pixels. The
useful advice was to switch the dataset to `sentiment`, which the graph fits unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from builder import Fix, GraphError, Problem, Report, apply_fix, validate
from trainers.config import TASKS
from trainers.datasets.bundle import DatasetInfo
from trainers.datasets.compat import check_graph_fits

MAX_FIX_STEPS = 4  # fixes followed in a row; each fit problem has one, and graphs have few


@dataclass(frozen=True)
class DataSuggestion:
    """A dataset and task the graph fits unchanged."""
    dataset: str
    task: str


def safe_fit_problems(graph, report: Report, info: DatasetInfo, task: str) -> list[Problem]:
    """`check_graph_fits` for `graph` (a Graph or its dict; `report` its validation), each fix
    kept only when applying it, then the fixes offered after it, ends in a graph that validates
    and fits `info` for `task`. A problem whose fix would not get there is listed without one."""
    problems = check_graph_fits(report, info, task)
    return [problem if problem.fix is None or _leads_to_fit(graph, problem.fix, info, task)
            else replace(problem, fix=None) for problem in problems]


def _leads_to_fit(graph, fix: Fix, info: DatasetInfo, task: str) -> bool:
    for _ in range(MAX_FIX_STEPS):
        try:
            graph = apply_fix(graph, fix)
        except GraphError:
            return False
        report = validate(graph)
        problems = check_graph_fits(report, info, task)
        if not problems:
            return report.valid
        fix = next((problem.fix for problem in problems if problem.fix is not None), None)
        if fix is None:
            return False
    return False


def fitting_data(report: Report, infos: list[DatasetInfo], task: str,
                 preferred: DataSuggestion | None = None) -> list[DataSuggestion]:
    """The datasets among `infos` (and tasks) that the valid graph fits unchanged: `preferred`
    first (e.g. what the graph's template was made for), then `task` on other datasets, then
    other tasks. Empty for an invalid graph: its shapes say nothing yet."""
    if not report.valid:
        return []
    by_name = {info.name: info for info in infos}
    candidates = [preferred] if preferred is not None and preferred.dataset in by_name else []
    candidates += [DataSuggestion(info.name, task) for info in infos]
    candidates += [DataSuggestion(info.name, other) for info in infos for other in TASKS
                   if other != task]
    found = []
    for candidate in candidates:
        if candidate not in found and not check_graph_fits(report, by_name[candidate.dataset],
                                                           candidate.task):
            found.append(candidate)
    return found
