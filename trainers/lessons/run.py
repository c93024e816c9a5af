"""Running a lesson's runs in this process (tests, the CLI) and checking its claim.

The app submits the same runs to the job manager instead (`lesson_run_spec`), so what a test
checks here is exactly what a class sees.
"""
from __future__ import annotations

from builder import validate
from trainers.config import RunSpec, make_config
from trainers.lessons.claims import ClaimCheck, RunOutcome, check_claim
from trainers.lessons.format import Lesson
from trainers.loop import train_run
from trainers.metrics import MetricsHistory


def lesson_run_spec(lesson: Lesson, run: str, **overrides) -> RunSpec:
    """The RunSpec of one of the lesson's runs (overrides: TrainConfig fields, e.g. a seed)."""
    return RunSpec(graph=lesson.graph_for(run), dataset=lesson.dataset,
                   dataset_options=dict(lesson.dataset_options),
                   config=make_config(**{**lesson.settings_for(run), **overrides}))


def run_lesson(lesson: Lesson, **overrides) -> tuple[dict[str, RunOutcome], list[ClaimCheck]]:
    """Train every run of the lesson here, one after the other; the outcomes and each claim's check."""
    outcomes = {}
    for variant in lesson.runs:
        spec = lesson_run_spec(lesson, variant.name, **overrides)
        history = MetricsHistory()
        train_run(spec, None, history.apply)
        outcomes[variant.name] = RunOutcome(history.snapshot(),
                                            validate(spec.graph).total_params)
    return outcomes, [check_claim(claim, outcomes) for claim in lesson.claims]
