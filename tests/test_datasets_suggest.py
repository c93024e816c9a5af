"""Safe fixes: a fix is offered only when following it gives a graph that validates and fits, and
a graph that fits other data as it is gets that data suggested first."""
import pytest

from builder import apply_fix, validate
from builder.templates import list_templates, load_template
from trainers.datasets import dataset_info, list_datasets
from trainers.datasets.suggest import DataSuggestion, fitting_data, safe_fit_problems

OFFLINE = list_datasets(include_online=False)


def safe(template: str, dataset: str, task: str):
    graph = load_template(template)
    return safe_fit_problems(graph, validate(graph), dataset_info(dataset), task)


def suggested(template: str, task: str, preferred=None) -> list[DataSuggestion]:
    return fitting_data(validate(load_template(template)), OFFLINE, task, preferred)


def test_the_transformer_on_images_gets_no_input_surgery_but_the_switch_to_sentiment():
    problems = safe("transformer_text", "shapes", "classification")
    assert {p.field for p in problems} == {"shape", "dtype"}  # both reasons are still named
    assert all(p.fix is None for p in problems)  # together they fed pixels to an Embedding
    assert suggested("transformer_text", "classification")[0] == DataSuggestion(
        "sentiment", "classification")


@pytest.mark.parametrize("template", ["vae", "gan", "autoencoder_dense"])
def test_generative_templates_under_the_classification_task_are_told_their_task(template):
    task = next(t.task for t in list_templates() if t.name == template)
    problems = safe(template, "digits", "classification")
    assert problems and all(p.fix is None for p in problems)  # "needs 10 outputs", "remove ..."
    first = suggested(template, "classification", DataSuggestion("digits", task))[0]
    assert first == DataSuggestion("digits", task)


def test_a_fix_that_leads_to_a_fitting_graph_is_still_offered_with_its_follow_up():
    graph = load_template("mlp_digits")  # 8x8 images in, 10 classes out; moons: 2-D, 2 classes
    moons = dataset_info("moons")
    for expected in ("shape", "out_features"):
        problems = safe_fit_problems(graph, validate(graph), moons, "classification")
        assert [p.field for p in problems][:1] == [expected] and problems[0].fix is not None
        graph = apply_fix(graph, problems[0].fix)
    assert safe_fit_problems(graph, validate(graph), moons, "classification") == []
    assert validate(graph).valid


@pytest.mark.parametrize("info", list_templates(), ids=lambda info: info.name)
def test_following_the_offered_fixes_always_ends_in_a_graph_that_validates_and_fits(info):
    """Each template against every offline dataset and several tasks."""
    for data in OFFLINE:
        for task in dict.fromkeys(("classification", "regression", "autoencoder", info.task)):
            graph = load_template(info.name)
            problems = safe_fit_problems(graph, validate(graph), data, task)
            followed = 0
            while any(p.fix for p in problems):
                graph = apply_fix(graph, next(p.fix for p in problems if p.fix))
                problems = safe_fit_problems(graph, validate(graph), data, task)
                followed += 1
                assert followed <= 4, (info.name, data.name, task)
            if followed:
                assert problems == [] and validate(graph).valid, (info.name, data.name, task)


def test_an_invalid_graph_gets_no_data_suggestion():
    graph = load_template("cnn_seed").to_dict()
    graph["edges"] = graph["edges"][:-1]  # the head is cut off: shapes are unknown
    assert fitting_data(validate(graph), OFFLINE, "classification") == []
