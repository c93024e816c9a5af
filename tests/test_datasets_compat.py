"""check_graph_fits: every template fits its dataset, and each mismatch names the node and field
with a fix that, once applied, makes the graph fit."""
import json
from pathlib import Path

import pytest

from builder import apply_fix, validate
from builder.templates import load_template
from trainers.datasets import dataset_info
from trainers.datasets.compat import check_graph_fits

TEMPLATES = json.loads((Path(__file__).parents[1] / "builder/templates/index.json").read_text())


def chain(*layers, shape=(2,), dtype="float") -> dict:
    """A straight graph: Input -> layers..., each layer given as (type, params)."""
    nodes = [{"id": "x", "type": "Input", "params": {"shape": list(shape), "dtype": dtype}}]
    nodes += [{"id": f"n{i}", "type": kind, "params": params} for i, (kind, params) in enumerate(layers)]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]
    return {"version": 1, "name": "test", "nodes": nodes, "edges": edges, "layout": {}}


def fits(graph, dataset: str, task: str):
    return check_graph_fits(validate(graph), dataset_info(dataset), task)


def fixed_until_it_fits(graph, dataset: str, task: str, rounds: int = 3):
    """Apply each offered fix (as the page's button would) until nothing is left; returns the
    problems seen along the way."""
    seen = []
    for _ in range(rounds):
        problems = fits(graph, dataset, task)
        if not problems:
            return seen
        assert all(p.fix is not None for p in problems), problems
        seen += problems
        for problem in problems:
            graph = apply_fix(graph, problem.fix)
    raise AssertionError(f"still does not fit after {rounds} rounds: {fits(graph, dataset, task)}")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_every_template_fits_its_dataset(template):
    meta = TEMPLATES[template]
    assert fits(load_template(template), meta["dataset"], meta["task"]) == []


def test_wrong_input_shape_names_the_input_and_the_fix_works():
    problems = fixed_until_it_fits(load_template("mlp_digits"), "shapes", "classification")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("x", "shape", [1, 28, 28])]
    assert "'shapes' has shape [1, 28, 28]" in problems[0].message


def test_float_input_on_token_data_asks_for_long():
    graph = chain(("Embedding", {"num_embeddings": 100, "embedding_dim": 8}), ("Flatten", {}),
                  ("Linear", {"out_features": 2}), shape=(16,))
    problems = fixed_until_it_fits(graph, "sentiment", "classification")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("x", "dtype", "long")]


def test_class_count_mismatch_fixes_the_linear_behind_the_activation():
    graph = chain(("Linear", {"out_features": 8}), ("ReLU", {}), ("Linear", {"out_features": 10}),
                  ("Softmax", {}))
    problems = fixed_until_it_fits(graph, "moons", "classification")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("n2", "out_features", 2)]
    assert "'moons' has 2 classes" in problems[0].message


def test_regression_output_size_follows_the_target():
    graph = load_template("gru_forecast").to_dict()
    graph["nodes"][-1]["params"]["out_features"] = 3
    problems = fixed_until_it_fits(graph, "sine", "regression")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("fc", "out_features", 1)]


def test_conv_autoencoder_on_colour_images_gets_input_then_channel_fixes():
    problems = fixed_until_it_fits(load_template("autoencoder_conv"), "cifar10", "autoencoder")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [
        ("x", "shape", [3, 32, 32]), ("dec2", "out_channels", 3)]


def test_dense_autoencoder_may_output_the_flattened_image():
    graph = chain(("Flatten", {}), ("Linear", {"out_features": 16}), ("Linear", {"out_features": 64}),
                  ("Sigmoid", {}), shape=(1, 8, 8))
    assert fits(graph, "digits", "autoencoder") == []
    graph["nodes"][3]["params"]["out_features"] = 60
    problems = fixed_until_it_fits(graph, "digits", "autoencoder")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("n2", "out_features", 64)]


@pytest.mark.parametrize("dataset, task, words", [
    ("sine", "classification", "train it with the regression task"),
    ("digits", "regression", "train it with the classification task"),
    ("sentiment", "autoencoder", "token ids, which a model cannot reconstruct"),
])
def test_task_that_does_not_suit_the_dataset(dataset, task, words):
    problems = fits(load_template("mlp_digits"), dataset, task)
    assert len(problems) == 1 and problems[0].field == "task" and words in problems[0].message


def test_two_inputs_for_a_one_input_dataset():
    graph = load_template("gan")
    problems = fits(graph, "digits", "classification")
    assert problems[0].node == "image" and "2 Inputs (z, image)" in problems[0].message


def test_gan_discriminator_must_give_one_score():
    graph = load_template("gan").to_dict()
    next(n for n in graph["nodes"] if n["id"] == "d_fc2")["params"]["out_features"] = 2
    problems = fixed_until_it_fits(graph, "digits", "gan")
    assert [(p.node, p.field, p.fix.value) for p in problems] == [("d_fc2", "out_features", 1)]


def test_gan_on_bigger_images_explains_the_generator_size():
    problems = fits(load_template("gan"), "shapes", "gan")
    assert [(p.node, p.field) for p in problems] == [("image", "shape"), ("fake_image", None)]
    assert "must make examples shaped like 'shapes': [1, 28, 28]" in problems[1].message


def test_an_invalid_graph_still_gets_its_input_checked():
    graph = chain(("Linear", {"out_features": 4}), ("Conv2d", {"out_channels": 4, "kernel_size": 3}))
    report = validate(graph)
    assert not report.valid
    problems = check_graph_fits(report, dataset_info("digits"), "classification")
    assert [(p.node, p.field) for p in problems] == [("x", "shape")]
