"""Builds a LayerLoom graph dict from a source model's operations, one call per operation.

The ONNX and .pt2 readers differ only in how they read a file and what each operation is called;
both describe the model to a GraphBuilder in catalog terms (`layer`), say which operations pass
their input through (`alias`), and which have no catalog layer (`leave_gap`). Values are the
source's tensor names; the builder owns node ids, edges, the state dict and the report.
"""
from collections import Counter

import torch

from builder.importers.hierarchy import fold_modules
from builder.importers.report import ImportResult, KeptOpaque, Unmapped
from builder.naming import attr_name, attr_names

# An imported graph is bounded like any other (builder.spec allows 2000 nodes).
MAX_SOURCE_OPS = 20_000


class GraphBuilder:
    def __init__(self, source: str):
        self.source = source
        self.nodes: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self.edges: list[dict] = []
        self.weights: dict[str, dict[str, torch.Tensor]] = {}  # node id -> its tensors
        self.producer: dict[str, str] = {}  # value name -> node id
        self.gaps: dict[str, Unmapped] = {}  # value name -> the unmapped op that made it
        self.consumed: Counter = Counter()
        self.mapped: Counter = Counter()
        self.unmapped: list[Unmapped] = []
        self.opaque: list[KeptOpaque] = []
        self.notes: list[str] = []
        self.stack: list[tuple[str, str]] = []  # the source op's module stack, set by the reader
        self.scopes: dict[str, list[tuple[str, str]]] = {}  # node id -> its op's module stack
        self.module_of: dict[str, str] = {}  # node id -> the module path its weights came from

    def add_input(self, value: str, shape: list[int], dtype: str = "float") -> None:
        node_id = self._node("Input", value, {"shape": list(shape), "dtype": dtype})
        self.producer[value] = node_id

    def layer(self, op: str, type_: str, inputs: list[str | None], out: str, params: dict,
              weights: dict[str, torch.Tensor] | None = None, name: str | None = None) -> str:
        """One catalog node `type_` reading `inputs` (in port order; None leaves a port empty)
        and producing `out`."""
        node_id = self._node(type_, name or out, params)
        for port, value in enumerate(inputs):
            if value is None:
                continue
            self.consumed[value] += 1
            if value in self.gaps:
                self.gaps[value].feeds.append(node_id)
            elif value in self.producer:
                self.edges.append({"source": self.producer[value], "target": node_id, "port": port})
        if weights:  # a meta tensor stands for a weight that was not carried
            self.weights[node_id] = {k: v for k, v in weights.items() if not v.is_meta}
            self.module_of[node_id] = name or out
        self.scopes[node_id] = self.stack
        self.producer[out] = node_id
        self.mapped[op] += 1
        return node_id

    def alias(self, op: str, out: str, value: str) -> None:
        """`out` is `value` at inference (Dropout, Identity): no node."""
        if value in self.gaps:
            self.gaps[out] = self.gaps[value]
        elif value in self.producer:
            self.producer[out] = self.producer[value]
        self.mapped[op] += 1

    def leave_gap(self, op: str, where: str, outs: list[str]) -> None:
        """`op` has no catalog layer: its outputs feed nothing, and the nodes reading them are
        listed in the report."""
        item = Unmapped(op, where)
        self.unmapped.append(item)
        for value in outs:
            self.gaps[value] = item

    def keep_opaque(self, op: str, where: str, inputs: list[str], out: str, params: dict,
                    computes: bool) -> None:
        """`op` has no catalog layer but reads only data and has a known output shape: an Opaque
        node keeps its place (and computes, when `params["op"]` is a listed function)."""
        node_id = self.layer(op, "Opaque", inputs, out, params)
        self.mapped[op] -= 1
        if not self.mapped[op]:
            del self.mapped[op]
        self.opaque.append(KeptOpaque(op, where, node_id, computes))

    def fold_bias(self, value: str, bias: torch.Tensor, out: str) -> bool:
        """`out = value + bias` where `value` comes only from a bias-free Linear (ONNX MatMul+Add):
        give that Linear the bias instead of adding a node."""
        node_id = self.producer.get(value)
        node = self.by_id.get(node_id)
        if (node is None or node["type"] != "Linear" or node["params"].get("bias", True)
                or self.consumed[value] or tuple(bias.shape) != (node["params"]["out_features"],)):
            return False
        node["params"]["bias"] = True
        self.weights[node_id]["bias"] = bias
        self.producer[out] = node_id
        return True

    def note_shared_weights(self, owners: dict[str, set]) -> None:
        """Weights read by more than one layer (weight name -> the layers or module calls reading
        it): tied in the model (from ONNX also equal tensors the exporter stored once). Each node
        holds its own copy: the report says so rather than untying them silently."""
        shared = sorted(name for name, readers in owners.items() if len(readers) > 1)
        if shared:
            self.notes.append(
                f"{len(shared)} weight(s) shared by several layers ({', '.join(shared[:5])}): each "
                "imported layer holds its own copy (the importer does not tie them yet; an output "
                "Linear's tie_weight param can name its Embedding), so the graph has more "
                "parameters than the model and training unties them")

    def finish(self, outputs: list[str]) -> ImportResult:
        """Mark the model's outputs and return graph, weights and report."""
        if len(outputs) > 1 or any(self.consumed[value] for value in outputs):
            for value in outputs:  # dead ends alone would not keep the order or a read output
                self.layer("output", "Output", [value], f"{value}__out", {}, name=f"out_{value}")
            self.mapped.pop("output")
        names = attr_names([node["id"] for node in self.nodes])
        graph = {"version": 1, "name": attr_name(self.source.rsplit("/", 1)[-1].split(".")[0]),
                 "nodes": self.nodes, "edges": self.edges}
        blocks: list[str] = []
        if not self.unmapped:  # a gap leaves modules without their wiring: kept flat
            folded = fold_modules(graph, self.scopes, self.module_of)
            if folded.graph is not None:
                graph, names = folded.graph, folded.paths
            blocks, self.notes = folded.lines, self.notes + folded.notes
        renamed = [f"'{module}' is '{names[node_id]}'" for node_id, module in self.module_of.items()
                   if names[node_id] != module
                   and all(part.isidentifier() or part.isdigit() for part in module.split("."))]
        if renamed:  # a top-level Sequential's 0, 1, ...; a module that could not be a block
            self.notes.append(f"{len(renamed)} module(s) renamed, so their weights' names differ "
                              f"from the original's: {', '.join(renamed[:5])}")
        state = {f"{names[node_id]}.{key}": tensor for node_id, tensors in self.weights.items()
                 for key, tensor in tensors.items()}
        return ImportResult(self.source, graph, state, dict(self.mapped), self.unmapped, self.notes,
                            self.opaque, blocks)

    def _node(self, type_: str, hint: str, params: dict) -> str:
        base = node_id = attr_name(hint)
        k = 2
        while node_id in self.by_id:
            node_id, k = f"{base}_{k}", k + 1
        self.by_id[node_id] = {"id": node_id, "type": type_, "params": params}
        self.nodes.append(self.by_id[node_id])
        return node_id
