"""The Build page's Python side, driven through Streamlit's AppTest (no browser)."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import load_template
from tests.build_tabs import click_template, open_build_tab
from ui import share

APP = str(Path(__file__).resolve().parents[1] / "app.py")
UPLOAD = "build.upload"


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def graph_of(at: AppTest) -> dict:
    return at.session_state["layerloom.graph"]


def summary(at: AppTest):
    return open_build_tab(at, "Summary").table[0].value


def messages(at: AppTest, kind: str) -> str:
    """The text of every st.success / st.error / ... shown, with Markdown escapes removed."""
    return " ".join(element.value.replace("\\", "") for element in getattr(at, kind))


def upload(at: AppTest, name: str, content: bytes) -> AppTest:
    open_build_tab(at, "Save & share").file_uploader(key=UPLOAD).set_value((name, content, "application/json"))
    return at.run()


def test_first_visit_shows_the_default_template_and_its_summary(app):
    assert graph_of(app) == load_template("mlp_digits").to_dict()
    table = summary(app)
    assert list(table["layer"]) == ["x", "flat", "fc1", "relu1", "drop1", "fc2"]
    assert list(table["output shape"]) == ["(1, 8, 8)", "(64,)", "(128,)", "(128,)", "(128,)", "(10,)"]
    assert list(table["parameters"]) == [0, 0, 64 * 128 + 128, 0, 0, 128 * 10 + 10]
    assert app.metric[0].label == "Parameters" and app.metric[0].value == "9.6 K"


def test_loading_a_template_replaces_the_graph_and_tells_the_canvas(app):
    click_template(app, "cnn_seed")
    assert "CNN (Keras tutorial)" in messages(app, "toast")  # a toast: the canvas keeps its height
    assert graph_of(app) == load_template("cnn_seed").to_dict()
    assert app.session_state["layerloom.graph_revision"] == 1
    assert summary(app)["parameters"].sum() == 225_034


def test_bring_back_the_previous_graph_undoes_a_template_load(app):
    click_template(app, "gan")
    [undo] = [b for b in open_build_tab(app, "Save & share").button
              if b.label == "Bring back the previous graph"]
    undo.click().run()
    assert graph_of(app) == load_template("mlp_digits").to_dict()


def test_uploading_a_saved_graph_loads_it(app):
    saved = json.dumps(load_template("resnet_small").to_dict()).encode()
    upload(app, "mine.json", saved)
    assert graph_of(app) == load_template("resnet_small").to_dict()
    assert "layer1" in list(summary(app)["layer"])


@pytest.mark.parametrize("content, expected", [
    (b"{\"nodes\": [", "not valid JSON"),
    (b"\x89PNG\r\n\x1a\n", "not UTF-8"),
    (b"[]", "JSON list, not a graph"),
    (json.dumps({"name": "x", "nodes": [], "edges": [], "extra": 1}).encode(), "extra"),
    (b" " * 1_000_001, "at most 1,000,000 bytes"),
    (b'{"name": "x", "nodes": 5}', "is not a valid graph: nodes: Input should be a valid list."),
    # issue #12: nesting, huge numbers, NaN/Infinity each get a message, never a raw error page
    (('{"name": "x", "nodes": [{"id": "a", "type": "Input", "params": {"shape": '
      + "[" * 600 + "2" + "]" * 600 + "}}]}").encode(), "nested more than 16 levels deep"),
    (b'{"name": "x", "nodes": [], "layout": {"a": {"x": NaN, "y": 0}}}',
     "line 1, column 50: NaN is not a number JSON allows"),
    (b'{"name": "x", "version": ' + b"9" * 5000 + b"}", "5,000 digits is too large"),
])
def test_a_bad_upload_names_the_problem_and_keeps_the_graph(app, content, expected):
    before = graph_of(app)
    upload(app, "bad.json", content)
    assert graph_of(app) == before
    errors = messages(app, "error")
    assert "bad.json" in errors and expected in errors
    assert "unchanged" in errors


def test_a_file_that_breaks_the_checks_stays_removable(app, monkeypatch):
    """A 990-deep graph raised RecursionError on every rerun, and the uploader was never drawn,
    so the file could not be removed: whatever a file does, the uploader stays."""
    def break_down(*_args, **_kwargs):
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("ui.build_actions.parse_graph_json", break_down)
    before = graph_of(app)
    upload(app, "deep.json", b"{}")
    assert not app.exception and graph_of(app) == before
    assert "deep.json” could not be read" in messages(app, "error")
    assert app.file_uploader(key=UPLOAD) is not None
    app.run()  # the next rerun does not read it again
    assert not app.exception


def test_a_share_link_opens_its_graph():
    graph = load_template("inception_block").to_dict()
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params[share.QUERY_PARAM] = share.encode_graph(graph)
    at.run()
    assert graph_of(at) == graph
    at.run()  # a later rerun (the link is still in the URL) must not undo edits made since
    assert at.session_state["layerloom.graph_revision"] == 1


def test_a_damaged_share_link_says_so_and_keeps_the_default_graph():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params[share.QUERY_PARAM] = share.encode_graph(load_template("gan").to_dict())[:40]
    at.run()
    assert graph_of(at) == load_template("mlp_digits").to_dict()
    assert "share link" in messages(at, "error")


def test_the_share_panel_link_round_trips(app):
    click_template(app, "vae")
    [link] = [code.value for code in open_build_tab(app, "Save & share").code if "graph=" in code.value]
    token = link.split("graph=", 1)[1]
    assert share.decode_graph(token) == load_template("vae").to_dict()


def test_a_problem_offers_a_fix_that_repairs_the_graph(app):
    graph = load_template("mlp_digits").to_dict()
    graph["nodes"] = [n for n in graph["nodes"] if n["id"] != "flat"]
    graph["edges"] = [{"source": "x", "target": "fc1", "port": 0}] + graph["edges"][2:]
    graph["layout"].pop("flat")
    upload(app, "no_flatten.json", json.dumps(graph).encode())
    assert app.metric[3].value == "1"
    assert app.metric[0].value == "0 + ?"  # the layers after the problem have no known size
    [fix] = [b for b in app.button if b.key and b.key.startswith("build.fix.")]
    assert "Flatten" in fix.label
    fix.click().run()
    assert app.metric[3].value == "0"
    assert "Flatten" in {node["type"] for node in graph_of(app)["nodes"]}
    assert list(summary(app)["output shape"])[-1] == "(10,)"


def test_export_shows_the_generated_pytorch_code(app):
    code = [c.value for c in open_build_tab(app, "Export").code if c.language == "python"]
    assert code and "class" in code[0] and "nn.Linear" in code[0]


def test_the_graph_survives_a_trip_to_another_page(app):
    click_template(app, "resnet_small")
    before = graph_of(app)
    app.switch_page("pages/inspect.py").run()
    app.switch_page("pages/build.py").run()
    assert graph_of(app) == before
    assert "layer1" in list(summary(app)["layer"])


def test_a_lesson_link_can_hide_the_templates_and_files():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["hide"] = "templates,files"
    at.run()
    assert [tab.label for tab in at.tabs] == ["Summary", "Save & share", "Export"]
    assert not [b for b in at.button if (b.key or "").startswith("build.template.")]
    assert not at.file_uploader
    assert any("graph=" in code.value for code in open_build_tab(at, "Save & share").code)  # still shared


def canvas_edit(at: AppTest, graph: dict, revision: int, edit: str) -> AppTest:
    """What the canvas component reports after an edit in the browser."""
    at.session_state["build.canvas"] = {"graph": {"revision": revision, "edit": edit,
                                                  "graph": graph}}
    return at.run()


def test_a_canvas_edit_reaches_every_panel_in_the_same_run(app):
    edited = load_template("mlp_digits").to_dict()
    edited["nodes"][2]["params"]["out_features"] = 32
    canvas_edit(app, edited, revision=0, edit="m:1")
    assert graph_of(app) == edited
    assert app.session_state["layerloom.graph_revision"] == 0  # the canvas keeps its own copy
    assert summary(app)["output shape"][2] == "(32,)"
    assert app.metric[0].value == "2.4 K"


def test_a_bad_value_inside_a_block_is_listed_by_where_it_is_and_the_graph_kept(app):
    click_template(app, "resnet_small")
    edited = graph_of(app)
    conv1 = next(n for n in edited["blocks"]["BasicBlock"]["nodes"] if n["id"] == "conv1")
    conv1["params"]["in_channels"] = 3  # the stem gives 16
    canvas_edit(app, edited, revision=1, edit="m:3")
    assert graph_of(app) == edited  # kept as drawn, to be repaired
    assert app.metric[3].value == "1"
    assert "**node layer1.conv1 (inside block layer1), field in_channels**: Conv2d 'layer1.conv1': " \
           "in_channels is 3 but the input gives 16" in messages(app, "error")


def test_an_edit_made_before_a_template_load_is_ignored(app):
    click_template(app, "gru_forecast")
    canvas_edit(app, load_template("mlp_digits").to_dict(), revision=0, edit="m:2")
    assert graph_of(app) == load_template("gru_forecast").to_dict()


def test_a_tampered_canvas_graph_is_refused_and_the_graph_kept(app):
    canvas_edit(app, {"nodes": [{"type": "Linear"}], "edges": [], "script": "x"},
                revision=0, edit="m:3")
    assert graph_of(app) == load_template("mlp_digits").to_dict()
    assert "cannot be read" in messages(app, "error")


def test_a_torch_export_file_is_built_on_request_and_offered_for_download(app):
    def downloads():
        return [button.label for button in app.download_button]

    assert "Download torch.export (.pt2)" not in downloads()
    open_build_tab(app, "Export").button(key="build.export.pt2").click().run()
    assert "Download torch.export (.pt2)" in downloads()
    assert not app.warning  # no "could not be exported" message


def test_an_export_is_kept_on_disk_in_the_session_folder_not_in_memory_and_deleted_on_edit(
        app, tmp_path, monkeypatch):
    """20 students' exports held as bytes in their sessions would be up to 80 MB each (#12)."""
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where session folders live
    open_build_tab(app, "Export").button(key="build.export.pt2").click().run()
    built = app.session_state["layerloom.exported_files"][1]["pt2"]
    assert isinstance(built, Path) and built.stat().st_size > 1_000
    assert built.parent.parent == tmp_path / "layerloom-sessions"  # this session's own folder
    assert [p.name for p in built.parent.iterdir()] == [built.name]  # no partial file left
    graph = dict(graph_of(app), name="edited")
    app.session_state["layerloom.graph"] = graph
    app.run()
    assert not built.exists()  # the previous graph's file went with the edit


def test_export_of_a_model_over_the_server_limits_is_refused_with_a_message(app):
    """A 50 M-parameter model exported in the server in 3.5 s and left 550 MB behind (#12)."""
    big = {"name": "big", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [7_000]}},
        {"id": "fc", "type": "Linear", "params": {"out_features": 7_000}}],
        "edges": [{"source": "x", "target": "fc"}], "layout": {}}
    app.session_state["layerloom.graph"] = big
    open_build_tab(app, "Export").button(key="build.export.pt2").click().run()
    assert not app.exception
    assert "Download torch.export (.pt2)" not in [b.label for b in app.download_button]
    assert "49,007,000 parameters; the limit here is 10,000,000" in messages(app, "warning")


def test_make_block_answers_the_canvas_then_stops_sending_the_graph_once_taken(app):
    click_template(app, "cnn_seed")
    app.session_state["build.canvas.answer"] = {"request": "r1", "block": "ConvBlock",
                                                "use": "convblock", "graph": {}}
    made = load_template("cnn_seed").to_dict() | {"version": 2, "blocks": {"ConvBlock": {
        "params": {}, "nodes": [{"id": "x", "type": "Input", "params": {}},
                                {"id": "conv1", "type": "Conv2d", "params": {"out_channels": 32,
                                                                             "kernel_size": 3}}],
        "edges": [{"source": "x", "target": "conv1", "port": 0}], "layout": {}}}}
    canvas_edit(app, made, revision=1, edit="m:4")  # the canvas committed the answer's graph
    assert "build.canvas.answer" not in app.session_state
    assert graph_of(app)["blocks"]["ConvBlock"] == made["blocks"]["ConvBlock"]
