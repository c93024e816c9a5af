"""Issue #12 through the pages: a model too wide for the server's evaluation budget gets a
message on Train (decision boundary) and Inspect, and a budget that fits one sample keeps every view."""
import pytest

from tests.test_inspect_page import tab_labels, thread_workers, trained_app  # noqa: F401 - autouse
from trainers import eval_budget


@pytest.fixture(scope="module")
def playground():
    return trained_app("mlp_playground")


def texts(app, kind: str) -> str:
    return " ".join(element.value.replace("\\", "") for element in getattr(app, kind))


def test_a_model_whose_one_sample_exceeds_the_budget_gets_a_message(playground, monkeypatch):
    monkeypatch.setattr(eval_budget, "budget_bytes", lambda: 16)  # less than one sample
    playground.run()
    assert not playground.exception, playground.exception
    warning = texts(playground, "warning")
    assert "too large to inspect on this server" in warning
    assert "LAYERLOOM_EVAL_MEMORY_MB" in warning and "Shrink the widest layers" in warning
    playground.switch_page("pages/train.py").run()
    assert not playground.exception, playground.exception
    assert "No decision boundary: Evaluating one sample" in texts(playground, "info")
    playground.switch_page("pages/inspect.py").run()


def test_a_budget_that_fits_one_sample_keeps_every_view(playground, monkeypatch):
    per_sample = 200  # bytes: the playground net's activations are ~100 bytes per sample
    monkeypatch.setattr(eval_budget, "budget_bytes", lambda: 40 * per_sample)
    playground.run()
    assert not playground.exception, playground.exception
    assert "Decision boundary" in tab_labels(playground)
    assert "too large" not in texts(playground, "warning")
