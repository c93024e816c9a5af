"""Every template loads, validates cleanly, compiles, runs, fits its dataset and looks tidy on the canvas."""
import itertools

import pytest
import torch

from builder import compile_graph, split_components, validate
from builder.export import example_inputs
from builder.templates import TEMPLATE_DIR, list_templates, load_template
from trainers.datasets import check_graph_fits, dataset_info

# The binding table at the end of docs/architecture.md, plus each model's per-sample output shape.
#   name: (dataset, task, {input id: (shape, dtype)}, output shapes in output order)
IMAGE_28 = {"x": ([1, 28, 28], "float")}
DIGITS = {"x": ([1, 8, 8], "float")}
EXPECTED = {
    "mlp_digits": ("digits", "classification", DIGITS, [[10]]),
    "mlp_playground": ("moons", "classification", {"x": ([2], "float")}, [[2]]),
    "cnn_seed": ("shapes", "classification", IMAGE_28, [[10]]),
    "lstm_seed": ("sequences", "classification", {"x": ([20, 100], "float")}, [[10]]),
    "gru_forecast": ("sine", "regression", {"x": ([32, 1], "float")}, [[1]]),
    "resnet_small": ("shapes", "classification", IMAGE_28, [[10]]),
    "inception_block": ("shapes", "classification", IMAGE_28, [[10]]),
    "cnn_webcam": ("colour_shapes", "classification", {"photo": ([3, 32, 32], "float")}, [[3]]),
    "transformer_text": ("sentiment", "classification", {"tokens": ([16], "long")}, [[2]]),
    "lstm_text": ("sentiment", "classification", {"tokens": ([16], "long")}, [[2]]),
    "autoencoder_dense": ("digits", "autoencoder", DIGITS, [[1, 8, 8]]),
    "autoencoder_conv": ("shapes", "autoencoder", IMAGE_28, [[1, 28, 28]]),
    "vae": ("digits", "vae", DIGITS, [[1, 8, 8]]),
    "gan": ("digits", "gan", {"z": ([16], "float"), "image": ([1, 8, 8], "float")}, [[1, 8, 8], [1]]),
}
NAMES = list(EXPECTED)
# The canvas draws a compact node at least 110 px wide and about 41 px tall (its title line; the
# parameters live in the details panel); stored layouts come from its top-to-bottom auto-layout.
NODE_WIDTH_PX, NODE_HEIGHT_PX = 110, 40


def test_index_lists_exactly_the_template_files():
    files = {path.stem for path in TEMPLATE_DIR.glob("*.json")} - {"index"}
    assert [info.name for info in list_templates()] == NAMES
    assert files == set(NAMES)


@pytest.mark.parametrize("info", list_templates(), ids=lambda info: info.name)
def test_metadata_matches_the_dataset_table_and_explains_the_architecture(info):
    dataset, task, _, _ = EXPECTED[info.name]
    assert (info.dataset, info.task) == (dataset, task)
    assert info.title.strip()
    sentences = info.description.count(". ") + 1
    assert 2 <= sentences <= 3, f"{info.name}: describe the architecture in 2-3 sentences"


@pytest.mark.parametrize("name", NAMES)
def test_template_validates_compiles_and_runs(name):
    _, _, inputs, output_shapes = EXPECTED[name]
    graph = load_template(name)
    assert graph.name == name
    report = validate(graph)
    assert report.valid and report.problems == []
    declared = {n.id: (n.params["shape"], n.params.get("dtype", "float"))
                for n in graph.nodes if n.type == "Input"}
    assert declared == inputs

    model = compile_graph(graph).eval()
    with torch.no_grad():
        outputs = model(*example_inputs(graph, model, batch=3))
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    assert [list(out.shape) for out in outputs] == [[3, *shape] for shape in output_shapes]
    # Shape inference must agree with what the real forward pass produced.
    assert [list(report.nodes[i].output_shape) for i in model.output_ids] == output_shapes
    assert report.total_params == sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("info", list_templates(), ids=lambda info: info.name)
def test_template_fits_its_dataset_unchanged(info):
    report = validate(load_template(info.name))
    assert check_graph_fits(report, dataset_info(info.dataset), info.task) == []


@pytest.mark.parametrize("name, params", [("cnn_seed", 225_034), ("lstm_seed", 895_498)])
def test_seed_models_have_the_tutorial_parameter_counts(name, params):
    assert validate(load_template(name)).total_params == params


@pytest.mark.parametrize("name", NAMES)
def test_layout_places_every_node_without_overlap(name):
    graph = load_template(name)
    assert set(graph.layout) == {node.id for node in graph.nodes}
    points = {node_id: (pos.x, pos.y) for node_id, pos in graph.layout.items()}
    for (a, (ax, ay)), (b, (bx, by)) in itertools.combinations(points.items(), 2):
        assert abs(ax - bx) >= NODE_WIDTH_PX or abs(ay - by) >= NODE_HEIGHT_PX, (name, a, b)


def test_gan_is_two_components_generator_first():
    generator, discriminator = split_components(load_template("gan"))
    assert "z" in {n.id for n in generator.nodes}
    assert "image" in {n.id for n in discriminator.nodes}


def test_vae_reports_a_kl_term_after_a_training_forward():
    graph = load_template("vae")
    model = compile_graph(graph).train()
    model(*example_inputs(graph, model, batch=4))
    assert model.aux_loss().item() > 0


def test_load_template_returns_an_independent_copy():
    first = load_template("mlp_digits")
    first.nodes.clear()
    assert len(load_template("mlp_digits").nodes) == 6


def test_unknown_template_names_the_available_ones():
    with pytest.raises(ValueError, match="unknown template 'nope'.*cnn_seed"):
        load_template("nope")

