"""compile_graph(): the graph as a real nn.Module.

The class is the one to_python_code() exports (same source, base class GraphModule instead of
nn.Module), executed here: the exported file and the compiled module cannot drift apart.
"""
import functools
import hashlib
import linecache
import os

import torch
from torch import nn

from builder import ops
from builder.blocks import expand
from builder.codegen import HELPERS, checked_report, class_source, model_class_name
from builder.naming import attr_names
from builder.report import Problem, Report
from builder.spec import Graph, GraphError, load_graph
from builder.ties import tied_keys, tied_pairs

PARAM_BYTES = 4  # float32 weights
# The model limits a shared server starts with (trainers.limits reads its own from the
# environment); the CLIs apply them too unless told --no-limits.
DEFAULT_MAX_PARAMS = 10_000_000
DEFAULT_MAX_ACTIVATION_MB = 512


def machine_memory_bytes() -> int:
    """This machine's physical memory (a bound no model's weights can exceed)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume a large workstation
        return 1 << 40


class GraphModule(nn.Module):
    """Base of every compiled graph. The generated subclass adds __init__ and forward.

    A tied weight (builder.ties) is one tensor under two names: state_dict() gives it once, under
    the Embedding's name, so every safetensors file holds it once; load_state_dict takes such a
    state (or one with both names) and ties the two again.
    """

    graph: Graph
    report: Report
    _tied: dict[str, str] = {}  # state_dict key of a tied weight -> the key of the shared tensor

    def __init__(self):
        super().__init__()
        self.register_state_dict_post_hook(_store_tied_once)
        self.register_load_state_dict_pre_hook(_fill_tied)
        self.register_load_state_dict_post_hook(_tie_again)

    @property
    def input_ids(self) -> list[str]:
        return list(self.report.input_ids)

    @property
    def output_ids(self) -> list[str]:
        return list(self.report.output_ids)

    def node_module(self, node_id: str) -> nn.Module:
        """A node's module; a node inside a block by its hierarchical id ("layer1.0.conv1")."""
        if node_id in self._attr_names:
            return getattr(self, self._attr_names[node_id])
        if node_id in self._inner_paths:
            return self.get_submodule(self._inner_paths[node_id])
        raise KeyError(f"no node '{node_id}' in graph '{self.graph.name}'")

    def aux_loss(self) -> torch.Tensor:
        """Sum of the Reparameterize KL terms from the last forward (0 when there are none)."""
        terms = [m.kl for m in self.modules()
                 if isinstance(m, ops.Reparameterize) and m.kl is not None]
        if terms:
            return torch.stack(terms).sum()
        first = next(self.parameters(), None)
        return torch.zeros((), device=first.device if first is not None else None)

    def __reduce__(self):
        # The generated class lives in no importable module: pickle/deepcopy rebuild from the graph.
        return _rebuild, (self.graph.to_dict(), self.state_dict(), self.training)


def compile_graph(graph: "Graph | dict | str", *, max_params: int | None = None) -> GraphModule:
    """Build the module; raises one GraphError listing every problem of an invalid graph.

    `max_params` refuses graphs above a parameter budget before any weight is allocated.
    """
    graph = load_graph(graph)
    report = checked_report(graph)
    if stuck := _not_computable(report):
        raise GraphError(stuck)
    if max_params is not None and report.total_params > max_params:
        raise GraphError([Problem(None, "params", f"the model has {report.total_params:,} "
                                                  f"parameters; the limit here is {max_params:,}")])
    weight_bytes = report.total_params * PARAM_BYTES
    if weight_bytes > machine_memory_bytes():  # even without a limit: never try the impossible
        raise GraphError([Problem(None, "params", (
            f"the model has {report.total_params:,} parameters ({weight_bytes / 2**30:,.1f} GiB of "
            f"weights); this machine has {machine_memory_bytes() / 2**30:,.1f} GiB of memory"))])
    name = model_class_name(graph)
    model = _generated_class(class_source(graph, report, name, base="GraphModule"), name)()
    model.graph, model.report = graph, report
    model._attr_names = attr_names([n.id for n in graph.nodes])
    model._tied = tied_keys(tied_pairs(graph.nodes), model._attr_names)
    model._inner_paths = _inner_paths(model, graph) if graph.blocks else {}
    return model


def _store_tied_once(model: GraphModule, state: dict, prefix: str, local_metadata) -> None:
    for alias in model._tied:
        state.pop(prefix + alias, None)


def _fill_tied(model: GraphModule, state: dict, prefix: str, *args) -> None:
    for alias, shared in model._tied.items():
        if prefix + alias not in state and prefix + shared in state:
            state[prefix + alias] = state[prefix + shared]


def _tie_again(model: GraphModule, incompatible_keys) -> None:
    """load_state_dict(assign=True) gives each name its own Parameter: make them one again."""
    for alias, shared in model._tied.items():
        owner, _, name = alias.rpartition(".")
        setattr(model.get_submodule(owner), name, model.get_parameter(shared))


def _not_computable(report: Report) -> list[Problem]:
    """Opaque nodes keeping an imported operation that no listed torch function computes."""
    return [Problem(node_id, "op", f"Opaque '{node_id}' keeps "
                    f"{info.resolved_params['source_op'] or info.resolved_params['op']} from an "
                    "imported model, which LayerLoom cannot compute: replace it with layers")
            for node_id, info in {**report.nodes, **report.inner}.items()
            if info.type == "Opaque" and info.resolved_params["op"] not in ops.Opaque.OPS]


def _inner_paths(model: nn.Module, graph: Graph) -> dict[str, str]:
    """Flat id -> module path of every node inside a block that has a module (a block's Input
    and Output nodes are forward's arguments and return value, not modules)."""
    modules = dict(model.named_modules())
    return {node_id: path for node_id, path in expand(graph).paths.items()
            if path in modules and "." in path}


@functools.lru_cache(maxsize=256)
def _generated_class(source: str, name: str) -> type:
    """Execute the generated class source once per distinct source (recompiling the same graph,
    e.g. for every snapshot, reuses it; the cache bounds what a busy server keeps)."""
    filename = f"<layerloom:{hashlib.sha1(source.encode()).hexdigest()[:12]}>"
    # Registered so tracebacks and debuggers show the generated forward line by line.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"torch": torch, "nn": nn, "GraphModule": GraphModule, **HELPERS}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


def _rebuild(graph: dict, state: dict, training: bool) -> GraphModule:
    model = compile_graph(graph)
    model.load_state_dict(state)
    return model.train(training)
