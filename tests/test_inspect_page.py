"""The Inspect page on small, really trained runs: every view renders for the kinds of model
students build (an image classifier, a text transformer, a VAE, a 2-D playground net)."""
import html
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import list_templates, load_template
from trainers.datasets import load_dataset

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TASKS = {t.name: t.task for t in list_templates()}
DIGITS_SEED = 7  # not the seed 0 the Train page's preview loads with: its test split differs
SETTINGS = {"mlp_playground": {"train.option.moons.n_samples": 300},
            "mlp_digits": {"train.classification.seed": DIGITS_SEED},
            "gru_forecast": {"train.option.sine.n_samples": 300}}


def trained_app(template: str) -> AppTest:
    """The app after a person loaded `template`, trained it 2 epochs on the Train page and opened
    Inspect (thread workers: they start at once)."""
    app = AppTest.from_file(APP, default_timeout=60)
    app.session_state["layerloom.graph"] = load_template(template).to_dict()
    app.session_state["layerloom.graph_revision"] = 0
    app.switch_page("pages/train.py").run()
    for key, value in {f"train.{TASKS[template]}.epochs": 2, **SETTINGS.get(template, {})}.items():
        next(w for w in app.number_input if w.key == key).set_value(value)
    app.run()
    next(b for b in app.button if b.key == "train.start").click().run()
    job = app.session_state["layerloom.runs"][-1].job
    assert job.wait(120) and job.status == "finished", job.error
    app.switch_page("pages/inspect.py").run()
    assert not app.exception, app.exception
    return app


@pytest.fixture(scope="module", autouse=True)
def thread_workers():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LAYERLOOM_WORKER", "thread")
        yield


@pytest.fixture(scope="module")
def apps(thread_workers):
    return {}


def opened(apps: dict, template: str) -> AppTest:
    if template not in apps:
        apps[template] = trained_app(template)
    return apps[template]


def tab_labels(app: AppTest) -> list[str]:
    return [tab.label for tab in app.tabs]


def attention_keys(chart) -> list[str]:
    """The words along an attention figure's key axis (labels read "position:word", escaped)."""
    return [html.unescape(label.split(":", 1)[1]) for label in json.loads(chart.proto.spec)["data"][0]["x"]]


def open_tab(app: AppTest, label: str) -> AppTest:
    app.session_state["inspect.view"] = label
    app.run()
    assert not app.exception, app.exception
    return app


def test_without_runs_the_page_points_to_train():
    app = AppTest.from_file(APP, default_timeout=30)
    app.switch_page("pages/inspect.py").run()
    assert "train a model on the Train page first" in app.info[0].value


def test_image_classifier_shows_prediction_internals_and_mistakes(apps):
    app = opened(apps, "mlp_digits")
    assert tab_labels(app) == ["Prediction", "First-layer weights", "Saliency", "Activations & gradients",
                               "Mistakes"]
    prediction = app.markdown[0].value
    assert "**True:**" in prediction and "**Predicted:**" in prediction
    assert not app.metric  # only the open tab's view runs
    open_tab(app, "Mistakes")
    assert [m.label for m in app.metric] == ["Test accuracy"]
    assert not any("**True:**" in m.value for m in app.markdown)
    open_tab(app, "Prediction")


def test_examples_come_from_the_split_of_the_runs_own_seed(apps):
    app = opened(apps, "mlp_digits")
    ours, seed_zero = (load_dataset("digits", seed=s).y_test for s in (DIGITS_SEED, 0))
    index = int((ours != seed_zero).nonzero()[0])  # the first test example the seeds disagree on
    app.number_input(key="inspect.index").set_value(index).run()
    assert f"**True:** {int(ours[index])} " in app.markdown[0].value
    app.number_input(key="inspect.index").set_value(0).run()


def test_picking_a_mistake_shows_a_wrong_prediction(apps):
    app = opened(apps, "mlp_digits")
    app.segmented_control(key="inspect.mode").set_value("A mistake").run()
    assert not app.exception, app.exception
    assert "❌ wrong" in app.markdown[0].value


def test_transformer_shows_attention_and_token_saliency(apps):
    app = opened(apps, "transformer_text")
    assert "Attention" in tab_labels(app) and "Saliency" in tab_labels(app)
    assert "**Test #0:**" in app.markdown[0].value  # the sentence, word by word
    open_tab(app, "Attention")
    charts = app.get("plotly_chart")
    assert len(charts) == 2  # one figure per encoder layer
    words = attention_keys(charts[0])  # padding hidden by default
    assert words and "<pad>" not in words
    app.toggle(key="inspect.attn.words").set_value(False).run()
    everything = attention_keys(app.get("plotly_chart")[0])
    assert len(everything) == 16 and "<pad>" in everything
    assert everything[-len(words):] == words  # sentences are padded on the left
    open_tab(app, "Prediction")


def test_vae_shows_generated_views(apps):
    app = opened(apps, "vae")
    assert tab_labels(app)[:2] == ["Prediction", "Generated"]
    open_tab(app, "Generated")
    assert app.number_input(key="inspect.interp.to").value == 1


def test_playground_net_shows_its_decision_boundary(apps):
    app = opened(apps, "mlp_playground")
    assert "Decision boundary" in tab_labels(app)
    open_tab(app, "Decision boundary")
    assert len(app.get("plotly_chart")) == 1


def chart_specs(app: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]


def test_mistakes_are_captioned_true_then_predicted(apps):
    app = open_tab(opened(apps, "mlp_digits"), "Mistakes")
    gallery = next(s for s in chart_specs(app) if "mistakes" in s["layout"]["title"]["text"])
    captions = [a["text"] for a in gallery["layout"]["annotations"]]
    assert captions and all(" → " in c and c.endswith("%)") for c in captions)
    true_label = captions[0].split(" → ")[0]
    assert true_label in [str(i) for i in range(10)]
    open_tab(app, "Prediction")


def test_token_saliency_leaves_the_padding_out(apps):
    app = open_tab(opened(apps, "transformer_text"), "Saliency")
    [figure] = chart_specs(app)
    words = [html.unescape(w) for w in figure["data"][0]["text"][0]]
    assert words and "<pad>" not in words
    open_tab(app, "Prediction")


def test_gan_prediction_scores_a_real_image_and_generated_ones(apps):
    app = opened(apps, "gan")
    assert tab_labels(app) == ["Prediction", "Generated", "First-layer weights", "Activations & gradients"]
    assert "The discriminator finds real test #0" in app.markdown[0].value
    titles = [s["layout"]["title"]["text"] for s in chart_specs(app)]
    assert titles == ["Test #0", "Generated from random noise (discriminator's verdict)"]
    for label in tab_labels(app)[1:]:
        open_tab(app, label)
        assert chart_specs(app)


def test_forecaster_shows_its_forecast_and_predicted_against_actual(apps):
    app = opened(apps, "gru_forecast")
    assert "**True:**" in app.markdown[0].value and "**Predicted:**" in app.markdown[0].value
    titles = [s["layout"]["title"]["text"] for s in chart_specs(app)]
    assert titles == ["Test #0: the window and what comes next", "Predicted vs actual on the test split"]
    assert not app.get("json") and not app.dataframe


def test_drawing_pad_accepts_only_a_finite_grid_of_the_input_size():
    from ui.draw_pad import pixels_from_state

    good = pixels_from_state({"rows": [[0.0, 2.0], [0.5, 1.0]], "stroke": 1}, 2, 2)
    assert good.tolist() == [[0.0, 1.0], [0.5, 1.0]]  # clipped to the ink range
    for bad in (None, {"rows": "x"}, {"rows": [[0.0, 1.0]]}, {"rows": [["a", 1], [0, 1]]},
                {"rows": [[float("nan"), 0], [0, 0]]}):
        assert pixels_from_state(bad, 2, 2) is None


def test_a_student_picks_the_convolution_inside_a_block_for_its_feature_maps(apps):
    app = open_tab(opened(apps, "resnet_small"), "Feature maps")  # layer1 is a BasicBlock block
    slider = app.select_slider(key="inspect.fmap.layer")
    assert "layer1" not in slider.options  # the block gives way to the layers inside it
    inside = [o for o in slider.options if o.startswith("layer1.")]
    assert [o.split(" · ")[0] for o in inside][:2] == ["layer1.conv1", "layer1.bn1"]
    slider.set_value("layer1.conv2").run()  # (options are the labels shown; values are ids)
    assert not app.exception, app.exception
    assert app.get("plotly_chart")  # the maps of the conv inside the block
