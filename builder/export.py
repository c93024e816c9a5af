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

from builder.compile import GraphModule, compile_graph
from builder.spec import Graph, load_graph

# torch.export treats a size-1 dimension as a constant, so trace with two samples.
EXAMPLE_BATCH = 2
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


class ExportError(Exception):
    """The graph is valid but could not be exported in the requested format."""


class MissingExportDependency(ExportError):
    """A package the format needs is not installed; the message says which and how to add it."""


def export_onnx(graph: Graph | dict | str | Path, path: str | Path) -> Path:
    """Write an ONNX file whose inputs and outputs are named after the graph's node ids."""
    _require_packages("ONNX export", "onnx", "onnxscript")
    graph, model, example, dynamic = _prepare(graph)
    try:
        with _quiet_onnx_exporter():
            # dynamo=True is torch's supported exporter; external_data=False keeps one file.
            torch.onnx.export(model, example, str(path), dynamo=True, external_data=False,
                              dynamic_shapes=dynamic, input_names=list(model.input_ids),
                              output_names=list(model.output_ids), verbose=False)
    except Exception as exc:  # torch raises many unrelated types while tracing; report them alike
        raise ExportError(f"ONNX export of graph {graph.name!r} failed: {_first_line(exc)}") from exc
    return Path(path)


def export_pt2(graph: Graph | dict | str | Path, path: str | Path) -> Path:
    """Write a torch.export archive; load it back with `torch.export.load(path).module()`."""
    graph, model, example, dynamic = _prepare(graph)
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


def _prepare(graph):
    """Compile (raising GraphError for an invalid graph) and build the example batch."""
    graph = load_graph(graph)
    model = compile_graph(graph).eval()
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
