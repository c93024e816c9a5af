"""The Build page's "Import a model" panel, through AppTest: a .pt2 becomes the graph and its
report is shown; a refused file says why and leaves the graph as it was."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.export import export_pt2
from tests.build_tabs import open_build_tab

ROOT = Path(__file__).resolve().parents[1]
IMPORT = "build.import"


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at.run()
    assert not at.exception, at.exception
    return at


def _import(at: AppTest, name: str, content: bytes) -> AppTest:
    open_build_tab(at, "Save & share").file_uploader(key=IMPORT).set_value((name, content, "application/octet-stream"))
    at.run()
    next(b for b in at.button if b.label == "Import as the graph").click()
    return at.run()


def test_importing_a_pt2_replaces_the_graph_and_shows_the_report(app, tmp_path):
    export_pt2(ROOT / "builder" / "templates" / "cnn_seed.json", tmp_path / "cnn.pt2")
    _import(app, "cnn.pt2", (tmp_path / "cnn.pt2").read_bytes())
    assert not app.exception, app.exception
    graph = app.session_state["layerloom.graph"]
    assert graph["name"] == "cnn"
    assert [n["type"] for n in graph["nodes"]].count("Conv2d") == 2
    report = " ".join(code.value for code in app.code)
    assert "imported cnn.pt2" in report and "mapped: 2 x conv2d" in report


def test_a_refused_file_says_why_and_keeps_the_graph(app):
    before = app.session_state["layerloom.graph"]
    _import(app, "junk.pt2", b"not a zip at all")
    assert not app.exception, app.exception
    shown = " ".join(error.value.replace("\\", "") for error in app.error)  # Markdown escapes
    assert "Not imported: junk.pt2 is not a .pt2 archive" in shown
    assert app.session_state["layerloom.graph"] == before


def test_an_import_with_an_opaque_node_that_cannot_compute_warns_and_keeps_its_shape(app, tmp_path):
    import torch
    from torch import nn

    class Flipped(nn.Module):
        def forward(self, x):
            return torch.flip(x, dims=[1])

    model = nn.Sequential(nn.Linear(4, 8), Flipped(), nn.Linear(8, 2)).eval()
    torch.export.save(torch.export.export(model, (torch.randn(2, 4),)), tmp_path / "flip.pt2")
    _import(app, "flip.pt2", (tmp_path / "flip.pt2").read_bytes())
    assert not app.exception, app.exception
    graph = app.session_state["layerloom.graph"]
    assert [n["type"] for n in graph["nodes"]].count("Opaque") == 1
    warnings = " ".join(w.value for w in app.warning)
    assert "1 Opaque node" in warnings and "cannot compute" in warnings  # markdown-escaped
    assert "opaque: aten.flip.default" in " ".join(code.value for code in app.code)


def test_code_import_is_off_on_a_shared_server_and_says_why(app):
    """AppTest, like a class server, listens on every address: code import is off."""
    open_build_tab(app, "Save & share")
    assert not [b for b in app.button if b.label == "Trace and import"]
    shown = " ".join(c.value.replace("\\", "") for c in app.caption)
    assert "Importing Python code runs it on the server, so it is off on a shared server" in shown
    assert "LAYERLOOM_CODE_IMPORT=on" in shown


def test_pasted_code_imports_when_code_import_is_on(monkeypatch):
    monkeypatch.setenv("LAYERLOOM_CODE_IMPORT", "on")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    open_build_tab(at, "Save & share")
    at.text_area(key="build.import_code").set_value(
        "import torch\nfrom torch import nn\n\nclass Tiny(nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n"
        "        self.body = nn.Sequential(nn.Linear(4, 8), nn.Tanh())\n"
        "        self.head = nn.Linear(8, 3)\n\n"
        "    def forward(self, x):\n        return self.head(self.body(x))\n")
    at.text_input(key="build.import_code_shapes").set_value("5")  # wrong: the model takes 4
    next(b for b in at.button if b.label == "Trace and import").click()
    at.run()
    assert not at.exception, at.exception
    error = " ".join(e.value.replace("\\", "") for e in at.error)
    assert "Not imported: line 11 of your code: RuntimeError" in error and "shape (5,)" in error
    at.text_input(key="build.import_code_shapes").set_value("4")
    next(b for b in at.button if b.label == "Trace and import").click()
    at.run()
    assert not at.exception, at.exception
    graph = at.session_state["layerloom.graph"]
    assert [n["id"] for n in graph["nodes"]] == ["x", "body", "head"]
    assert "block: Body (class torch.nn.modules.container.Sequential)" in \
        " ".join(code.value for code in at.code)


def test_an_imported_model_with_blocks_draws_on_every_build_tab(app, tmp_path):
    """A ResNet-style .pt2 becomes a graph with blocks (numbered Sequentials included) that the
    canvas, the summary and the code export all draw."""
    import torch

    from tests.test_import_blocks import ResNet18

    model = ResNet18(width=4).eval()
    torch.export.save(torch.export.export(model, (torch.randn(1, 3, 32, 32),)),
                      tmp_path / "resnet.pt2")
    _import(app, "resnet.pt2", (tmp_path / "resnet.pt2").read_bytes())
    assert not app.exception, app.exception
    graph = app.session_state["layerloom.graph"]
    assert {"BasicBlock", "BasicBlock_2", "Layer", "Downsample"} == set(graph["blocks"])
    assert "block: Layer (class torch.nn.modules.container.Sequential)" in \
        " ".join(code.value for code in app.code)
    for tab in ("Summary", "Export"):
        open_build_tab(app, tab)
        assert not app.exception, (tab, app.exception)


def test_the_imported_weights_start_the_next_run_while_they_fit(app, tmp_path):
    import torch
    from safetensors.torch import load_file

    from builder.importers import import_model
    from tests.test_train_page import click, latest_job, thread_workers  # noqa: F401 - fixture
    torch.manual_seed(0)
    export_pt2(ROOT / "builder" / "templates" / "mlp_digits.json", tmp_path / "mlp.pt2")
    _import(app, "mlp.pt2", (tmp_path / "mlp.pt2").read_bytes())
    assert "starts the next run from these weights" in " ".join(code.value for code in app.code)
    app.switch_page("pages/train.py").run()
    assert app.toggle(key="train.imported_weights").value  # on unless turned off
    app.number_input(key="train.classification.epochs").set_value(1).run()
    click(app, "train.start")
    job = latest_job(app)
    imported = import_model(tmp_path / "mlp.pt2").state_dict
    started_from = load_file(job.spec.init_state)
    assert started_from.keys() == imported.keys()
    assert all(torch.equal(started_from[name], imported[name]) for name in imported)
    assert job.wait(60) and job.status == "finished", job.error
    # an edit the weights no longer fit: said once, quietly, and runs start fresh
    graph = app.session_state["layerloom.graph"]
    next(n for n in graph["nodes"] if n["type"] == "Linear")["params"]["out_features"] = 99
    app.run()
    assert not [t for t in app.toggle if t.key == "train.imported_weights"]
    assert any("Runs start from fresh weights" in c.value for c in app.caption)
