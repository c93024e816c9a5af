"""Export a graph for use outside LayerLoom: ONNX (other runtimes) or torch.export's .pt2 archive.

Both trace the compiled model in eval mode (dropout off, batch norm on its running statistics)
with the batch dimension left dynamic, so the exported model accepts any batch size.
"""
import importlib.util
import logging
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import torch

from builder.codegen import checked_report
from builder.compile import GraphModule, compile_graph
from builder.report import Problem
from builder.spec import Graph, GraphError, load_graph

# torch.export treats a size-1 dimension as a constant, so trace with two samples.
EXAMPLE_BATCH = 2
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class ExportError(Exception):
    """The graph is valid but could not be exported in the requested format."""


class MissingExportDependency(ExportError):
    """A package the format needs is not installed; the message says which and how to add it."""


def export_onnx(graph: Graph | dict | str | Path, path: str | Path, *, max_params: int | None = None,
                max_activation_bytes: int | None = None) -> Path:
    """Write an ONNX file whose inputs and outputs are named after the graph's node ids.

    `max_params` / `max_activation_bytes` (per traced batch) refuse a model above a server's
    limits with a GraphError, judged by shape inference before anything is allocated."""
    _require_packages("ONNX export", "onnx", "onnxscript")
    graph, model, example, dynamic = _prepare(graph, max_params, max_activation_bytes)
    try:
        with _quiet_onnx_exporter():
            # dynamo=True is torch's supported exporter; external_data=False keeps one file.
            torch.onnx.export(model, example, str(path), dynamo=True, external_data=False,
                              dynamic_shapes=dynamic, input_names=list(model.input_ids),
                              output_names=list(model.output_ids), verbose=False)
    except Exception as exc:  # torch raises many unrelated types while tracing; report them alike
        raise ExportError(f"ONNX export of graph {graph.name!r} failed: {_first_line(exc)}") from exc
    return Path(path)


def export_pt2(graph: Graph | dict | str | Path, path: str | Path, *, max_params: int | None = None,
               max_activation_bytes: int | None = None) -> Path:
    """Write a torch.export archive; load it back with `torch.export.load(path).module()`.
    The limits are export_onnx's."""
    graph, model, example, dynamic = _prepare(graph, max_params, max_activation_bytes)
    try:
        program = torch.export.export(model, example, dynamic_shapes=dynamic)
        torch.export.save(program, str(path))
    except Exception as exc:  # as above: any tracing failure becomes one clear message
        raise ExportError(f"torch.export of graph {graph.name!r} failed: {_first_line(exc)}") from exc
    return Path(path)


def example_inputs(graph: Graph, model: GraphModule, batch: int = EXAMPLE_BATCH) -> tuple:
    """One random batch per Input node, in the order the model's forward takes them."""
    inputs = {node.id: node.params for node in graph.nodes if node.type == "Input"}
    return tuple(_example_tensor(inputs[node_id], batch) for node_id in model.input_ids)


def _example_tensor(params: dict, batch: int) -> torch.Tensor:
    shape = (batch, *params["shape"])
    if params.get("dtype", "float") == "long":
        return torch.zeros(shape, dtype=torch.long)  # token id 0 is valid for any Embedding
    return torch.rand(shape)


def _prepare(graph, max_params: int | None, max_activation_bytes: int | None):
    """Compile (raising GraphError for an invalid graph or one above the limits) and build the
    example batch."""
    graph = load_graph(graph)
    report = checked_report(graph)
    needed = report.total_activation_bytes * EXAMPLE_BATCH
    if max_activation_bytes is not None and needed > max_activation_bytes:
        raise GraphError([Problem(None, "activations", (
            f"tracing a batch of {EXAMPLE_BATCH} needs about {needed / 2**20:,.0f} MB of "
            f"activations; the limit here is {max_activation_bytes / 2**20:,.0f} MB"))])
    model = compile_graph(graph, max_params=max_params).eval()
    example = example_inputs(graph, model)
    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch} for _ in example)  # one shared batch size for all inputs
    return graph, model, example, dynamic


def _require_packages(purpose: str, *packages: str) -> None:
    missing = [name for name in packages if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExportDependency(
            f"{purpose} needs the package(s) {', '.join(missing)}, which are not installed here: "
            f"pip install {' '.join(missing)}")


@contextmanager
def _quiet_onnx_exporter():
    """Hide exporter chatter a LayerLoom user cannot act on: notes that torchvision's ops are
    skipped (no node uses them) and deprecation warnings raised inside torch itself."""
    registration_log = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration_log.level
    registration_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        registration_log.setLevel(level)


def _first_line(exc: BaseException) -> str:
    """The innermost cause's first line: torch wraps the real reason in generic 'step 2/3' text."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = ANSI_COLOUR.sub("", str(exc)).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
