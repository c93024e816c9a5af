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
