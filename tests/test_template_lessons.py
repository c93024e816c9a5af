"""A template is a lesson: loading one on the Build page sets the Train page's dataset, options,
task and recommended settings, even after the Train page was used with another template; a
teacher's link keeps what it locks; a dataset picked by hand afterwards stays picked."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import list_templates
from tests.build_tabs import click_template
from trainers.config import default_config

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TEMPLATES = {info.name: info for info in list_templates()}
WIDGET_KINDS = ("number_input", "select_slider", "selectbox", "slider", "checkbox", "radio")
# The settings panel's key for each TrainConfig field it shows (ui/train_settings.py).
SETTING_KEYS = {"early_stopping_patience": "patience"}


@pytest.fixture(autouse=True)
def thread_workers(monkeypatch):
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")


def open_app(**query) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update(query)
    return run(app)


def run(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def load_template_then_train(app: AppTest, name: str) -> AppTest:
    run(app.switch_page("pages/build.py"))
    run(click_template(app, name))
    return run(app.switch_page("pages/train.py"))


def widget(app: AppTest, key: str):
    found = [w for kind in WIDGET_KINDS for w in getattr(app, kind) if w.key == key]
    assert found, f"no widget with key {key!r} on the Train page"
    return found[0]


def setting(app: AppTest, task: str, name: str):
    return widget(app, f"train.{task}.{SETTING_KEYS.get(name, name)}").value


def assert_train_page_follows(app: AppTest, name: str) -> None:
    info = TEMPLATES[name]
    assert widget(app, "train.dataset").value == info.dataset
    assert widget(app, "train.task").value == info.task
    for option, value in info.dataset_options.items():
        assert widget(app, f"train.option.{info.dataset}.{option}").value == value
    expected = default_config(info.task, **info.settings)
    for field in ("optimizer", "lr", "batch_size", "epochs", *info.settings):
        assert setting(app, info.task, field) == getattr(expected, field), (name, field)


def test_every_template_declares_settings_that_make_a_valid_config():
    for info in TEMPLATES.values():
        config = default_config(info.task, **info.settings)
        assert {name: getattr(config, name) for name in info.settings} == info.settings
        assert info.dataset_options is not None


def test_a_template_loaded_after_another_brings_its_dataset_task_and_settings():
    app = open_app()
    load_template_then_train(app, "cnn_seed")
    assert_train_page_follows(app, "cnn_seed")
    widget(app, "train.classification.epochs").set_value(3)  # typed for the CNN
    run(app)
    for name in ("transformer_text", "vae", "gru_forecast", "gan", "mlp_digits"):
        load_template_then_train(app, name)
        assert_train_page_follows(app, name)
        assert not app.error, (name, [e.value for e in app.error])  # the graph fits its data
        assert not app.button(key="train.start").disabled, name


def test_a_dataset_picked_by_hand_after_loading_stays_picked():
    app = open_app()
    load_template_then_train(app, "mlp_playground")
    widget(app, "train.dataset").set_value("spiral")
    run(app)
    run(app.switch_page("pages/build.py"))
    run(app.switch_page("pages/train.py"))
    assert widget(app, "train.dataset").value == "spiral"


def test_a_lesson_links_locks_win_over_the_template_and_the_rest_follows_it():
    app = open_app(dataset="spiral", epochs="7", optimizer="sgd", lock="dataset,epochs")
    run(app.switch_page("pages/train.py"))
    assert widget(app, "train.dataset").value == "spiral"
    load_template_then_train(app, "mlp_digits")
    dataset = widget(app, "train.dataset")
    assert dataset.value == "spiral" and dataset.disabled  # locked: the lesson's
    assert setting(app, "classification", "epochs") == 7  # locked: the lesson's
    expected = default_config("classification", **TEMPLATES["mlp_digits"].settings)
    assert setting(app, "classification", "optimizer") == expected.optimizer  # unlocked: template's
    # The graph does not fit the locked dataset: no button offers to switch it.
    assert not [b for b in app.button if b.key and b.key.startswith("train.switch.")]


def test_a_lessons_unlocked_settings_hold_until_a_template_is_loaded():
    app = open_app(dataset="spiral", optimizer="sgd")
    run(app.switch_page("pages/train.py"))
    assert widget(app, "train.dataset").value == "spiral"
    assert setting(app, "classification", "optimizer") == "sgd"
    load_template_then_train(app, "cnn_seed")
    assert_train_page_follows(app, "cnn_seed")
