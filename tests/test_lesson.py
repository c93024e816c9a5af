"""Teacher links: readable, validated like any untrusted input, applied on every page."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import open_nav_page
from ui.lesson import CONTROLS, Lesson, parse_lesson

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_a_plain_link_describes_no_lesson():
    assert parse_lesson({}) == (None, [])
    assert parse_lesson({"graph": "abc"}) == (None, [])  # a share link alone is no lesson


def test_settings_are_validated_and_typed():
    lesson, problems = parse_lesson({"optimizer": "sgd", "lr": "0.03", "epochs": "30",
                                     "lock": "optimizer,lr", "hide": "templates", "dataset": "moons"})
    assert problems == []
    assert lesson.settings == {"optimizer": "sgd", "lr": 0.03, "epochs": 30}
    assert lesson.locked == {"optimizer", "lr"} and lesson.hidden == {"templates"}
    assert lesson.dataset == "moons"


def test_each_bad_part_is_named_and_skipped_while_the_rest_applies():
    lesson, problems = parse_lesson({"lr": "-1", "epochs": "lots", "dataset": "../../etc/passwd",
                                     "hide": "templates,everything", "optimizer": "adam"})
    assert lesson.settings == {"optimizer": "adam"}
    assert lesson.dataset is None and lesson.hidden == {"templates"}
    joined = " | ".join(problems)
    for named in ("'lr=-1'", "'epochs=lots'", "dataset '../../etc/passwd'", "everything"):
        assert named in joined


def test_a_lesson_round_trips_through_its_query_parameters():
    lesson = Lesson(title="Momentum", dataset="spiral", settings={"optimizer": "sgd", "lr": 0.1},
                    hidden=frozenset({"files"}), locked=frozenset({"dataset"}))
    again, problems = parse_lesson(lesson.to_params())
    assert problems == [] and again == lesson


def test_dataset_options_in_a_link_are_checked_against_the_dataset_and_round_trip():
    lesson, problems = parse_lesson({"dataset": "memory", "data.gap": "19", "data.noise": "0.5",
                                     "data.cells": "3", "data.n_samples": "-5"})
    assert lesson.dataset_options == {"gap": 19, "noise": 0.5}  # typed, as the dataset takes them
    joined = " | ".join(problems)
    assert "'data.cells=3' was ignored: dataset 'memory' has no option 'cells'" in joined
    assert "'data.n_samples=-5' was ignored" in joined
    assert parse_lesson(lesson.to_params()) == (lesson, [])
    alone, problems = parse_lesson({"data.gap": "19"})  # options without their dataset
    assert alone.dataset_options == {} and "add dataset=" in problems[0]


def test_the_train_page_starts_from_the_links_dataset_options():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"dataset": "memory", "data.gap": "19", "lock": "dataset"})
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    assert app.selectbox(key="train.dataset").value == "memory"
    assert app.number_input(key="train.option.memory.gap").value == 19


def test_every_control_name_is_documented():
    assert all(description.strip() for description in CONTROLS.values())


def test_the_lesson_banner_shows_the_title_as_typed_and_what_was_skipped():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"title": "**Why** <b>momentum</b>", "note": "Try lr 0.1", "lr": "oops"})
    app.run()
    assert not app.exception, app.exception
    banner = app.info[0].value
    assert "\\*\\*Why\\*\\*" in banner and "\\<b\\>" in banner  # escaped: shown as typed
    assert "'lr=oops' was ignored" in app.warning[0].value
    app.switch_page("pages/train.py").run()  # ran without app.py before ui/router.py
    assert "\\*\\*Why\\*\\*" in app.info[0].value


@pytest.mark.browser
def test_the_lesson_follows_the_student_to_other_pages(app_url, page):
    page.goto(app_url + "?title=Why+momentum&note=Try+lr+0.1")
    page.wait_for_selector("text=Why momentum", timeout=60_000)
    open_nav_page(page, "Train")
    page.wait_for_selector("text=Settings", timeout=60_000)
    assert page.locator("text=Why momentum").count() == 1
    assert "title=" not in page.url  # the lesson now lives in the session, not the URL


@pytest.mark.browser
def test_icon_and_emoji_codes_in_a_title_or_note_stay_text(app_url, page):
    """`:material/warning:` in a teacher link's title rendered as an icon (issue #12)."""
    page.goto(app_url + "?title=%3Amaterial%2Fwarning%3A+Careful&note=Smile+%3Asmile%3A+now")
    alert = page.locator("[data-testid=stAlertContentInfo]").first
    alert.wait_for(timeout=60_000)
    assert alert.locator("[data-testid=stIconMaterial]").count() == 0
    text = alert.inner_text().replace("\u2060", "")
    assert ":material/warning: Careful" in text and "Smile :smile: now" in text


def test_a_lesson_presets_locks_and_hides_train_controls():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"dataset": "spiral", "optimizer": "sgd", "lr": "0.03", "epochs": "40",
                             "lock": "dataset,optimizer", "hide": "seed"})
    app.run()
    app.switch_page("pages/train.py").run()
    assert not app.exception, app.exception
    dataset = app.selectbox(key="train.dataset")
    assert dataset.value == "spiral" and dataset.disabled
    optimizer = app.selectbox(key="train.classification.optimizer")
    assert optimizer.value == "sgd" and optimizer.disabled
    assert app.select_slider(key="train.classification.lr").value == 0.03
    assert app.number_input(key="train.classification.epochs").value == 40
    assert not app.number_input(key="train.classification.epochs").disabled
    assert not [w for w in app.number_input if w.key == "train.classification.seed"]
