"""Lessons: the format refuses what it cannot use, claims read the right numbers, and every
shipped lesson keeps its promise at its shipped settings (a lesson whose claim fails is a failing
test, never a silent demo)."""
import json
import math

import pytest
import torch

from builder import compile_graph, validate
from builder.templates import load_template
from trainers.datasets import check_graph_fits, load_dataset
from trainers.config import make_config
from trainers.lessons import (LessonError, RunOutcome, check_claim, list_lessons, parse_lesson,
                              run_lesson)
from trainers import probes
from trainers.lessons.model_measures import random_samples, sample_spread
from trainers.lessons.run import train_lesson_run
from trainers.lessons.format import LIBRARY
from trainers.metrics import MetricsSnapshot

LESSONS = list_lessons()


def shipped(lesson_id: str) -> dict:
    return json.loads(next(LIBRARY.glob(f"*_{lesson_id}.json")).read_text())


def test_the_gallery_covers_the_reference_articles_ideas():
    assert 10 <= len(LESSONS) <= 17
    assert len({lesson.id for lesson in LESSONS}) == len(LESSONS)
    ideas = " ".join(lesson.idea.lower() for lesson in LESSONS)
    for idea in ("activation", "sgd", "adam", "momentum", "mini-batch", "rmsprop", "dropout",
                 "weight decay", "early stopping", "augmentation", "normalization", "cnn", "lstm", "attention",
                 "autoencoder", "vae", "gan", "gpu"):
        assert idea in ideas, idea


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_run_of_every_lesson_fits_its_dataset(lesson):
    bundle = load_dataset(lesson.dataset, **lesson.dataset_options)
    for run in lesson.runs:
        report = validate(lesson.graph_for(run.name))
        config = make_config(**lesson.settings_for(run.name))
        assert report.valid, (run.name, [p.message for p in report.problems])
        assert not check_graph_fits(report, bundle.info, config.task), run.name


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_every_lesson_keeps_its_promise(lesson):
    if lesson.gpu_runs and not torch.cuda.is_available():
        pytest.skip(f"{lesson.id} compares runs on a GPU ({', '.join(lesson.gpu_runs)}) and this "
                    "machine has none; test_a_gpu_lessons_cpu_runs_train_here covers the rest")
    _, checks = run_lesson(lesson)
    for claim, check in zip(lesson.claims, checks):
        assert check.holds, f"{lesson.id}: “{claim.text}” {check.message}"


GPU_LESSONS = [lesson for lesson in LESSONS if lesson.gpu_runs]


@pytest.mark.parametrize("lesson", GPU_LESSONS, ids=lambda lesson: lesson.id)
def test_a_gpu_lessons_cpu_runs_train_here(lesson):
    """Where no GPU checks the claim, the rest still holds: every network compiles, and the runs
    not on a GPU train to the end at the shipped settings and learn."""
    for run in lesson.runs:
        assert compile_graph(lesson.graph_for(run.name)) is not None
    cpu_runs = [run.name for run in lesson.runs if run.name not in lesson.gpu_runs]
    assert cpu_runs, f"{lesson.id} has no CPU run to compare the GPU with"
    for name in cpu_runs:
        snapshot = train_lesson_run(lesson, name).snapshot
        assert len(snapshot.epochs) == lesson.settings_for(name)["epochs"]
        assert snapshot.epochs[-1]["val_metric"] >= 0.7, snapshot.epochs[-1]
        assert snapshot.steps[-1]["samples_per_s"] > 0


def test_a_lesson_needs_a_gpu_exactly_when_a_run_asks_for_cuda():
    data = shipped("cpu_vs_gpu")
    assert parse_lesson(data).gpu_runs == ("gpu",)
    data["runs"]["gpu"]["settings"]["device"] = "cpu"
    assert parse_lesson(data).gpu_runs == ()


def test_a_runs_edits_change_only_that_run():
    lesson = next(lesson for lesson in LESSONS if lesson.id == "vanishing_gradient")
    relu, sigmoid = lesson.graph_for("relu"), lesson.graph_for("sigmoid")
    types = lambda graph: {node["id"]: node["type"] for node in graph["nodes"]}
    changed = {node for node, kind in types(sigmoid).items() if kind != types(relu)[node]}
    assert changed == {f"act{i}" for i in range(1, 6)}
    assert set(types(sigmoid).values()) >= {"Sigmoid"} and "Sigmoid" not in types(relu).values()
    assert lesson.graph_for("relu") == relu  # edits never leak into the lesson's own graph


@pytest.mark.parametrize("breakage, field", [
    (lambda d: d.pop("claims"), "'claims'"),
    (lambda d: d["runs"].pop("sigmoid"), "at least two runs"),
    (lambda d: d["runs"]["sigmoid"]["set_type"].update(nowhere="ReLU"), "nowhere"),
    (lambda d: d["runs"]["sigmoid"].update(settings={"lr": -1}), "lr"),
    (lambda d: d["claims"][0]["left"].update(run="tanh"), "claim 1: 'left' must name one of"),
    (lambda d: d["claims"][1]["right"].update(quantity="happiness"), "claim 2: 'right' quantity"),
    (lambda d: d["claims"][0].update(op="=="), "'op'"),
    (lambda d: d.update(graph="no_such_template"), "'graph'"),
    (lambda d: d.update(graph={"nodes": "?"}), "'graph'"),
])
def test_a_broken_lesson_file_is_refused_naming_what_is_wrong(breakage, field):
    data = shipped("vanishing_gradient")
    breakage(data)
    with pytest.raises(LessonError, match="sigmoid_file") as error:
        parse_lesson(data, "sigmoid_file")
    assert field in str(error.value)


def outcome(epochs, grad_norms=None, result=None, params=100):
    rows = [{"epoch": i + 1, "train_loss": tl, "val_loss": vl, "train_metric": tm, "val_metric": vm,
             "lr": 0.01} for i, (tl, vl, tm, vm) in enumerate(epochs)]
    return RunOutcome(MetricsSnapshot(epochs=rows, grad_norms=grad_norms or [{}] * len(rows),
                                      result=result), params)


def claim_of(spec: dict):
    data = shipped("vanishing_gradient")
    data["claims"] = [spec]
    return parse_lesson(data).claims[0]


def test_claims_read_the_measures_they_name_and_say_the_numbers():
    relu = outcome([(1.0, 1.1, 0.5, 0.5), (0.5, 0.6, 0.8, 0.75)], [{"fc1": 0.02}, {"fc1": 0.01}])
    sigmoid = outcome([(2.3, 2.3, 0.1, 0.1), (2.3, 2.3, 0.1, 0.1)], [{"fc1": 1e-3}, {"fc1": 1e-4}])
    outcomes = {"relu": relu, "sigmoid": sigmoid}
    ratio = claim_of({"text": "t", "left": {"run": "relu", "quantity": "grad_norm", "node": "fc1",
                                            "epoch": 1}, "op": ">=", "factor": 10,
                      "right": {"run": "sigmoid", "quantity": "grad_norm", "node": "fc1", "epoch": 1}})
    check = check_claim(ratio, outcomes)
    assert check.holds and (check.left, check.right) == (0.02, 1e-3)
    assert "0.02 >= 10 × " in check.message
    # At epoch 2 the ratio is 100: a factor of 200 must fail, and say so.
    stricter = claim_of({**{"text": "t", "op": ">=", "factor": 200},
                         "left": {"run": "relu", "quantity": "grad_norm", "node": "fc1", "epoch": 2},
                         "right": {"run": "sigmoid", "quantity": "grad_norm", "node": "fc1", "epoch": 2}})
    assert not check_claim(stricter, outcomes).holds
    gap = claim_of({"text": "t", "left": {"run": "relu", "quantity": "gap"}, "op": "<",
                    "right": {"run": "sigmoid", "quantity": "loss_gap"}})
    assert check_claim(gap, outcomes).left == pytest.approx(0.05)  # last epoch: 0.8 - 0.75


def test_a_measure_that_was_never_recorded_fails_the_claim_plainly():
    outcomes = {"relu": outcome([(1.0, 1.1, 0.5, 0.5)]), "sigmoid": outcome([(1.0, 1.1, 0.5, 0.5)])}
    claim = claim_of({"text": "t", "left": {"run": "relu", "quantity": "val_metric", "epoch": 3},
                      "op": ">", "right": {"run": "sigmoid", "quantity": "test_metric"}})
    check = check_claim(claim, outcomes)
    assert not check.holds and math.isnan(check.left)
    assert "could not be checked" in check.message and "no epoch 3" in check.message


def test_epochs_to_is_infinite_when_the_threshold_is_never_reached():
    slow = outcome([(1.0, 1.0, 0.5, 0.5), (0.9, 0.9, 0.6, 0.6)])
    fast = outcome([(1.0, 1.0, 0.5, 0.5), (0.5, 0.5, 0.9, 0.9)])
    claim = claim_of({"text": "t", "left": {"run": "relu", "quantity": "epochs_to", "threshold": 0.8},
                      "op": "<", "right": {"run": "sigmoid", "quantity": "epochs_to", "threshold": 0.8}})
    check = check_claim(claim, {"relu": fast, "sigmoid": slow})
    assert check.holds and check.left == 2 and check.right == math.inf


def test_training_speed_is_the_median_point_leaving_out_the_warm_up():
    snap = MetricsSnapshot(steps=[{"samples_per_s": s} for s in (10.0, 900.0, 1000.0, 1100.0)])
    claim = claim_of({"text": "t", "left": {"run": "relu", "quantity": "samples_per_s"}, "op": ">=",
                      "factor": 50, "right": {"run": "sigmoid", "quantity": "samples_per_s"}})
    slow = RunOutcome(MetricsSnapshot(steps=[{"samples_per_s": 20.0}]), 1)
    check = check_claim(claim, {"relu": RunOutcome(snap, 1), "sigmoid": slow})
    assert check.holds and check.left == 1000.0 and check.right == 20.0


def constant_decoder(image: torch.Tensor):
    """An autoencoder whose decoder draws `image` whatever its 4-number code."""
    graph = {"version": 1, "name": "constant", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
        {"id": "flat", "type": "Flatten", "params": {}},
        {"id": "code", "type": "Linear", "params": {"out_features": 4}},
        {"id": "out", "type": "Linear", "params": {"out_features": 64}},
        {"id": "image", "type": "Reshape", "params": {"shape": [1, 8, 8]}}],
        "edges": [{"source": a, "target": b} for a, b in
                  (("x", "flat"), ("flat", "code"), ("code", "out"), ("out", "image"))]}
    model = compile_graph(graph).eval()
    with torch.no_grad():
        model.node_module("out").weight.zero_()
        model.node_module("out").bias.copy_(image.flatten())
    return model


def test_model_measures_read_the_trained_networks_decoder_and_reconstructions():
    data = load_dataset("digits")
    claim = claim_of({"text": "t", "left": {"run": "relu", "quantity": "sample_distance"}, "op": "<",
                      "right": {"run": "sigmoid", "quantity": "reconstruction_error"}})
    copies_a_digit, draws_grey = constant_decoder(data.x_train[5]), constant_decoder(torch.full((64,), 0.5))
    check = check_claim(claim, {"relu": RunOutcome(MetricsSnapshot(), 1, copies_a_digit, data),
                                "sigmoid": RunOutcome(MetricsSnapshot(), 1, draws_grey, data)})
    assert check.left == pytest.approx(0.0, abs=1e-6)  # every random code decodes to a real digit
    assert check.right == pytest.approx((data.x_test - 0.5).pow(2).mean().item(), rel=1e-5)
    assert check.holds
    spread = claim_of({"text": "t", "left": {"run": "relu", "quantity": "sample_spread"}, "op": "<",
                       "right": {"run": "sigmoid", "quantity": "sample_spread"}})
    one_drawing = check_claim(spread, {"relu": RunOutcome(MetricsSnapshot(), 1, copies_a_digit, data),
                                       "sigmoid": RunOutcome(MetricsSnapshot(), 1, draws_grey, data)})
    assert one_drawing.left == one_drawing.right == pytest.approx(0.0, abs=1e-6)  # a collapsed generator
    unprobed = check_claim(claim, {"relu": outcome([(1, 1, 0, 0)]), "sigmoid": outcome([(1, 1, 0, 0)])})
    assert not unprobed.holds and "model is not at hand" in unprobed.message


def test_a_gans_random_samples_are_its_generators_drawings():
    data = load_dataset("digits")
    torch.manual_seed(0)
    gan = compile_graph(load_template("gan")).eval()
    samples = random_samples(gan, data, count=6)
    assert samples.shape == (6, 1, 8, 8)
    assert torch.equal(samples, probes.generate(gan, count=6, seed=0))
    assert sample_spread(gan, data) > 0
