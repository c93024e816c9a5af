"""Property tests for issue #12's hostile inputs, driven through the library, both CLIs and the
Build page: nesting depth, NaN/Infinity, huge integers and sizes, safetensors headers and CSV
shapes. Whatever is drawn, the answer is the library's own error with a message, never a raw
exception, and never a hang."""
import json
import math
import struct
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from streamlit.testing.v1 import AppTest

from builder import GraphError, load_graph, validate
from builder.cli import main as builder_cli
from builder.templates import load_template
from trainers.checkpoints import CheckpointError, read_weights
from trainers.cli import main as trainers_cli
from trainers.datasets import DatasetError
from trainers.datasets.tabular import load_csv
from ui import share

APP = str(Path(__file__).resolve().parents[1] / "app.py")
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
HOSTILE_LEAVES = st.sampled_from([float("nan"), float("inf"), -float("inf"), 10**30, -(2**63),
                                  2**63, 10**400, 1e308, "x", None, True])


def nested(value, depth: int):
    for _ in range(depth):
        value = [value]
    return value


@st.composite
def poisoned_graph(draw) -> dict:
    """A valid template with one value replaced, somewhere a file could carry it."""
    graph = load_template(draw(st.sampled_from(["mlp_playground", "cnn_seed", "gan"]))).to_dict()
    value = nested(draw(HOSTILE_LEAVES), draw(st.sampled_from([0, 0, 1, 20, 255, 600])))
    node = draw(st.sampled_from(graph["nodes"]))
    where = draw(st.sampled_from(["param", "new_param", "layout", "port"]))
    if where == "param" and node["params"]:
        node["params"][draw(st.sampled_from(sorted(node["params"])))] = value
    elif where == "layout" and graph["layout"]:
        graph["layout"][node["id"]] = {"x": value, "y": 0}
    elif where == "port" and graph["edges"]:
        graph["edges"][0]["port"] = value
    else:
        node["params"]["extra"] = value
    return graph


def as_json(graph: dict) -> str | None:
    try:
        return json.dumps(graph)  # NaN/Infinity written as JSON's non-standard literals
    except (RecursionError, ValueError):
        return None


def has_control_characters(text: str) -> bool:
    return any(not c.isprintable() and c != "\n" for c in text)


@QUICK
@given(poisoned_graph())
def test_poisoned_graphs_are_graph_errors_from_dicts_and_json(graph):
    for source in filter(None, (graph, as_json(graph))):
        started = time.monotonic()
        report = validate(source)  # never raises
        assert report.valid or all(p.message.strip() for p in report.problems)
        assert all("internal error" not in p.message for p in report.problems)
        try:
            loaded = load_graph(source)
        except GraphError as error:
            assert error.problems and str(error)
        else:  # what loads is plain: the canvas can read its JSON back
            json.dumps(loaded.to_dict(), allow_nan=False)
        assert time.monotonic() - started < 5


@QUICK
@given(widths=st.lists(st.sampled_from([1, 2**10, 2**20, 2**24]), min_size=1, max_size=5),
       scales=st.lists(st.sampled_from([0.5, 2.0, 64.0]), max_size=4))
def test_huge_sizes_are_problems_and_totals_fit_64_bits(widths, scales):
    nodes = [{"id": "x", "type": "Input", "params": {"shape": [1, 1024, 1024]}},
             {"id": "up_start", "type": "Flatten", "params": {}}]
    for i, width in enumerate(widths):
        nodes.append({"id": f"fc{i}", "type": "Linear", "params": {"out_features": width}})
    nodes.append({"id": "r", "type": "Reshape", "params": {"shape": [1, 1, -1]}})
    for i, scale in enumerate(scales):
        nodes.append({"id": f"up{i}", "type": "Upsample", "params": {"scale_factor": scale}})
    edges = [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]
    report = validate({"name": "huge", "nodes": nodes, "edges": edges})
    assert all("internal error" not in p.message for p in report.problems)
    assert max(report.total_params, report.total_flops, report.total_activation_bytes) < 2**63


HEADER_JUNK = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.text(max_size=6),
              st.floats(allow_nan=False)),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["dtype", "shape", "data_offsets", "fc1.weight", "__metadata__"]),
        children, max_size=4),
    max_leaves=10)


@QUICK
@given(header=HEADER_JUNK, depth=st.sampled_from([0, 0, 50, 5_000, 100_000]))
def test_any_safetensors_header_is_a_checkpoint_error(tmp_path_factory, header, depth):
    import torch
    raw = ("[" * depth + json.dumps(header) + "]" * depth).encode()
    path = tmp_path_factory.mktemp("w") / "w.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(64))
    with pytest.raises(CheckpointError):
        read_weights(path, {"fc1.weight": torch.zeros(4, 4)})


@QUICK
@given(rows=st.integers(0, 60), columns=st.sampled_from([1, 2, 5, 1_001, 3_000]),
       separator=st.sampled_from([",", ";", "\t"]),
       cell=st.sampled_from(["1", "2.5", "", "nan", "inf", "x", '"q"', "9" * 400]))
def test_any_csv_shape_is_a_dataset_error_or_a_bundle(rows, columns, separator, cell):
    header = separator.join(f"c{i}" for i in range(columns))
    body = "".join(separator.join([cell] * (columns - 1) + [str(r % 2)]) + "\n" for r in range(rows))
    data = (header + "\n" + body).encode()
    started = time.monotonic()
    try:
        bundle = load_csv(data, f"c{columns - 1}", max_bytes=len(data) + 1)
    except DatasetError as error:
        assert str(error).strip()
    else:
        assert columns <= 1_000 and math.isfinite(float(bundle.x_train.sum()))
    assert time.monotonic() - started < 10


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(graph=poisoned_graph(), evil_id=st.sampled_from(["\x1b[2J", "a\x07b", "ok", "\x1b]0;t\x07"]))
def test_both_clis_answer_with_an_exit_status_and_printable_text(tmp_path_factory, capsys,
                                                                  graph, evil_id):
    graph["nodes"][0]["id"] = evil_id
    text = as_json(graph)
    if text is None:
        return
    path = tmp_path_factory.mktemp("g") / "g.json"
    path.write_text(text)
    assert builder_cli(["check", str(path)]) in (0, 1)
    assert trainers_cli(["train", str(path), "--dataset", "nope"]) == 2  # bad graph or dataset
    captured = capsys.readouterr()
    assert not has_control_characters(captured.out + captured.err)


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(poisoned_graph())
def test_the_build_page_answers_any_poisoned_share_link(graph):
    text = as_json(graph)
    if text is None:
        return
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params[share.QUERY_PARAM] = share.encode_graph(json.loads(text))
    at.run()
    assert not at.exception, at.exception
    shown = at.session_state["layerloom.graph"]
    json.dumps(shown, allow_nan=False)  # the canvas can always read what the page holds
