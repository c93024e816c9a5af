"""The Train page's "Data and settings": folded while a run trains, open again when it ends."""
from streamlit.testing.v1 import AppTest

from builder.templates import load_template
from tests.test_train_page import PAGE, click, latest_job, open_page, rerun
from tests.test_train_page import thread_workers  # noqa: F401  (autouse: runs in threads here too)


def test_data_and_settings_fold_while_a_run_trains_and_open_when_it_ends():
    app = open_page(**{"train.classification.epochs": 500})
    assert app.session_state["train.setup"] is True
    click(app, "train.start")
    assert app.session_state["train.setup"] is False  # folded: the charts are in view
    click(app, "train.stop")
    assert latest_job(app).wait(10)
    rerun(app)
    assert app.session_state["train.setup"] is True


def test_a_run_that_ends_while_the_page_is_drawn_still_opens_the_settings(monkeypatch):
    """The run ends after the page folded the setup but before the live block is drawn: the
    live block asks for one more run, which opens the setup (a race CI met on a busy machine)."""
    import ui.train_live
    answers = iter([True])  # training when the setup is folded, over from then on
    monkeypatch.setattr(ui.train_live, "training_now", lambda: next(answers, False))
    app = AppTest.from_file(PAGE, default_timeout=30)
    app.session_state["layerloom.graph"] = load_template("mlp_playground").to_dict()
    app.session_state["layerloom.graph_revision"] = 0
    rerun(app)
    assert app.session_state["train.setup"] is True
