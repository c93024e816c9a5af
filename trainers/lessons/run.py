"""Running a lesson's runs in this process (tests, the CLI) and checking its claim.

The app submits the same runs to the job manager instead (`lesson_run_spec`), so what a test
checks here is exactly what a class sees.
"""
from __future__ import annotations

from builder import compile_graph, validate
from trainers.config import RunSpec, make_config
from trainers.datasets import load_dataset
from trainers.lessons.claims import ClaimCheck, RunOutcome, check_claim, needs_model
from trainers.lessons.format import Lesson
from trainers.loop import train_run
from trainers.metrics import MetricsHistory


def lesson_run_spec(lesson: Lesson, run: str, **overrides) -> RunSpec:
    """The RunSpec of one of the lesson's runs (overrides: TrainConfig fields, e.g. a seed)."""
    return RunSpec(graph=lesson.graph_for(run), dataset=lesson.dataset,
                   dataset_options=dict(lesson.dataset_options),
                   config=make_config(**{**lesson.settings_for(run), **overrides}))


def train_lesson_run(lesson: Lesson, run: str, **overrides) -> RunOutcome:
    """Train one of the lesson's runs here; with the model and data when its claims probe them."""
    spec = lesson_run_spec(lesson, run, **overrides)
    history, weights = MetricsHistory(), {}

    def emit(event: dict) -> None:
        history.apply(event)
        if event.get("kind") == "weights":
            weights["state"] = event["state"]

    train_run(spec, None, emit)
    model = data = None
    if needs_model(lesson.claims):
        model = compile_graph(spec.graph)
        model.load_state_dict(weights["state"])
        model.eval()
        data = load_dataset(spec.dataset, seed=spec.config.seed, **spec.dataset_options)
    return RunOutcome(history.snapshot(), validate(spec.graph).total_params, model, data)


def run_lesson(lesson: Lesson, **overrides) -> tuple[dict[str, RunOutcome], list[ClaimCheck]]:
    """Train every run of the lesson here, one after the other; the outcomes and each claim's check."""
    outcomes = {variant.name: train_lesson_run(lesson, variant.name, **overrides)
                for variant in lesson.runs}
    return outcomes, [check_claim(claim, outcomes) for claim in lesson.claims]
