"""The Lessons page through AppTest: the gallery lists every lesson, "Run both" trains the pair
(labelled by what each run stands for), and the promise is checked and shown when both end."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.fake_cuda_host import FakeCuda
from trainers.datasets import dataset_info
from trainers.lessons import list_lessons, parse_lesson
from ui.lessons import lesson_json

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "lessons.py")


@pytest.fixture(autouse=True)
def thread_workers(monkeypatch):
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")


def rerun(app: AppTest) -> AppTest:
    app.run()
    assert not app.exception, app.exception
    return app


def test_the_gallery_lists_every_lesson_and_shows_the_first():
    app = rerun(AppTest.from_file(PAGE, default_timeout=30))
    lessons = list_lessons()
    assert app.radio[0].options == [f"{i}. {lesson.title}" for i, lesson in enumerate(lessons, 1)]
    assert app.subheader[0].value == lessons[0].title
    assert any(lessons[0].claims[0].text[:30] in md.value.replace("\\", "") for md in app.markdown)


def test_run_both_trains_the_pair_and_checks_the_promise():
    app = rerun(AppTest.from_file(PAGE, default_timeout=30))
    app.radio[0].set_value("mini_batch")
    rerun(app)
    next(b for b in app.button if b.key == "lessons.run.mini_batch").click()
    rerun(app)
    runs = app.session_state["layerloom.runs"]
    assert [run.name for run in runs] == ["Run 1 · full batch", "Run 2 · batch 32"]
    assert all(run.job.wait(120) for run in runs), [run.job.error for run in runs]
    rerun(app)
    assert [run.job.status for run in runs] == ["finished", "finished"]
    assert len(app.get("plotly_chart")) == 2  # loss and accuracy, both runs overlaid
    assert app.success and "holds" in app.success[0].value
    assert not app.error


def test_the_vae_lesson_checks_its_decoders_and_shows_their_random_codes():
    app = rerun(AppTest.from_file(PAGE, default_timeout=30))
    app.radio[0].set_value("vae_latent")
    rerun(app)
    next(b for b in app.button if b.key == "lessons.run.vae_latent").click()
    rerun(app)
    runs = app.session_state["layerloom.runs"]
    assert all(run.job.wait(180) for run in runs), [run.job.error for run in runs]
    rerun(app)
    assert [s.value.count("holds") for s in app.success] == [1, 1], [e.value for e in app.error]
    assert "sample distance" in app.success[0].value
    charts = app.get("plotly_chart")
    assert len(charts) == 3  # the loss (a VAE has no metric), then each run's decoded random codes
    assert [chart.key for chart in charts[1:]] == ["lessons.samples.vae_latent.autoencoder",
                                                   "lessons.samples.vae_latent.vae"]


@pytest.mark.parametrize("gpus", [0, 1])
def test_a_gpu_lesson_says_plainly_when_the_server_has_no_gpu(monkeypatch, gpus):
    FakeCuda(gpus=gpus).install(monkeypatch)
    app = rerun(AppTest.from_file(PAGE, default_timeout=30))
    app.radio[0].set_value("cpu_vs_gpu")
    rerun(app)
    run_both = next(b for b in app.button if b.key == "lessons.run.cpu_vs_gpu")
    open_on_build = next(b for b in app.button if b.key == "lessons.open.cpu_vs_gpu")
    assert run_both.disabled == (gpus == 0) and not open_on_build.disabled
    warnings = [w.value for w in app.warning]
    assert (gpus == 0) == any("this server has no GPU" in w for w in warnings), warnings


def test_a_saved_lesson_file_opens_as_the_same_lesson():
    for lesson in list_lessons():
        assert parse_lesson(json.loads(lesson_json(lesson))) == lesson


def test_open_on_build_sets_the_graph_and_the_lessons_settings():
    app = rerun(AppTest.from_file(PAGE, default_timeout=30))
    app.radio[0].set_value("dropout")
    rerun(app)
    next(b for b in app.button if b.key == "lessons.open.dropout").click()
    app.run()  # the page then switches to Build, which AppTest reports as a page change
    lesson = next(lesson for lesson in list_lessons() if lesson.id == "dropout")
    assert app.session_state["layerloom.graph"] == lesson.graph_for("plain")
    teacher = app.session_state["layerloom.lesson"]
    assert teacher.dataset == "moons" and "dataset" in teacher.locked
    assert teacher.settings["epochs"] == lesson.settings["epochs"]


def open_on_build_then_train(app: AppTest, lesson_id: str) -> dict:
    """Open a lesson on Build from the gallery, go to Train: the moons options it shows."""
    rerun(app.switch_page("pages/lessons.py"))
    app.radio[0].set_value(lesson_id)
    rerun(app)
    next(b for b in app.button if b.key == f"lessons.open.{lesson_id}").click()
    rerun(app)
    lesson = next(lesson for lesson in list_lessons() if lesson.id == lesson_id)
    assert app.session_state["layerloom.graph"] == lesson.graph_for(lesson.runs[0].name)
    rerun(app.switch_page("pages/train.py"))
    return {key: app.number_input(key=f"train.option.moons.{key}").value
            for key in ("n_samples", "noise")}


def test_open_on_build_takes_the_lessons_dataset_options_to_the_train_page():
    dropout, momentum = (next(lesson for lesson in list_lessons() if lesson.id == lesson_id)
                         for lesson_id in ("dropout", "momentum"))
    assert dropout.dataset == momentum.dataset == "moons"
    assert dropout.dataset_options == {"n_samples": 100, "noise": 0.35} and not momentum.dataset_options
    defaults = {spec.name: spec.default for spec in dataset_info("moons").options}
    app = AppTest.from_file(str(Path(PAGE).parents[1] / "app.py"), default_timeout=60)
    assert open_on_build_then_train(app, "dropout") == dropout.dataset_options
    # The next lesson starts from its own options, not from those the Train page kept.
    assert open_on_build_then_train(app, "momentum") == {key: defaults[key] for key in ("n_samples", "noise")}


def test_a_teachers_own_lesson_travels_in_a_link_and_a_damaged_link_is_explained():
    from ui import share
    lesson = json.loads(lesson_json(list_lessons()[3]))
    lesson.update(id="my_lesson", title="Mrs Rossi's mini-batch lesson")
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.query_params["lesson_file"] = share.encode_graph(lesson)
    rerun(app)
    assert app.subheader[0].value == "Mrs Rossi's mini-batch lesson"
    assert app.radio[0].options[-1].endswith("Mrs Rossi's mini-batch lesson")

    damaged = AppTest.from_file(PAGE, default_timeout=30)
    damaged.query_params["lesson_file"] = share.encode_graph(lesson)[:-40]
    rerun(damaged)
    assert "The lesson in this link was not opened" in damaged.error[0].value
    assert damaged.subheader[0].value == list_lessons()[0].title  # the gallery still works


def test_a_lesson_link_that_breaks_the_format_names_the_field():
    from ui import share
    lesson = json.loads(lesson_json(list_lessons()[3]))
    lesson["runs"]["mini"]["settings"] = {"lr": "fast"}
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.query_params["lesson_file"] = share.encode_graph(lesson)
    rerun(app)
    assert "run 'mini' settings" in app.error[0].value and "lr" in app.error[0].value
