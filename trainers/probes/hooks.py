"""Shared plumbing for probes: which module belongs to which graph node, and hooks that clean up."""
from contextlib import contextmanager

from torch import nn


def node_modules(model: nn.Module) -> dict[str, nn.Module]:
    """Node id -> module, in graph order for a compiled graph, a block use giving way to the
    layers inside it ("layer1.conv1"); child name -> module otherwise."""
    graph = getattr(model, "graph", None)
    if graph is not None and hasattr(model, "node_module"):
        return {node_id: model.node_module(node_id)
                for node_id in model.report.layer_ids([node.id for node in graph.nodes])}
    return dict(model.named_children())


@contextmanager
def probing(model: nn.Module):
    """Eval mode for the duration of a probe; the caller's training flag comes back afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextmanager
def hooked(handles: list):
    """Remove every hook handle in `handles` on exit, whatever happened inside."""
    try:
        yield handles
    finally:
        for handle in handles:
            handle.remove()
