"""What validate() returns: problems (each tied to a node and field, with a fix where obvious)
and, per node, the inferred shape and costs."""
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Shape = tuple[int, ...]
FixKind = Literal["insert_before", "set_param", "rename_param", "set_type"]


@dataclass(frozen=True)
class Fix:
    """A one-click repair. insert_before: put `layer_type` between `node`'s input `port` and its
    source. set_param: set `field` to `value` (None removes it, so an inferred size is re-inferred).
    rename_param: rename param `field` to `value`. set_type: change the node's type to `value`."""

    kind: FixKind
    node: str
    label: str
    layer_type: str | None = None
    params: dict = field(default_factory=dict)
    port: int = 0
    field: str | None = None
    value: Any = None

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Problem:
    """`node` is a node of the graph as drawn: for a problem inside a block, the block node that
    uses it, and `inner` the hierarchical id of the layer (or nested block use) it is on
    ("layer1.0.conv1"), so an opened block shows it there."""

    node: str | None
    field: str | None
    message: str
    fix: Fix | None = None
    inner: str | None = None

    def to_json(self) -> dict:
        out = {"node": self.node, "field": self.field, "message": self.message}
        if self.inner is not None:
            out["inner"] = self.inner
        if self.fix is not None:
            out["fix"] = self.fix.to_json()
        return out


@dataclass(frozen=True)
class NodeInfo:
    """Per-sample facts about one node (shapes exclude the batch dimension)."""

    type: str
    input_shapes: tuple[Shape, ...]
    output_shape: Shape
    params: int
    flops: int
    activation_bytes: int
    resolved_params: dict
    dtype: str = "float"
    inputs: tuple[str, ...] = ()  # source node ids by port; an empty optional port repeats the last
    ports: tuple[str, ...] = ()  # the port name each of `inputs` feeds


@dataclass
class Report:
    problems: list[Problem] = field(default_factory=list)
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # topological, ties in file order
    input_ids: list[str] = field(default_factory=list)
    output_ids: list[str] = field(default_factory=list)
    # Nodes inside blocks by hierarchical id ("layer1.0.conv1"); their costs are already counted
    # in their block node's NodeInfo, so the totals below leave them out.
    inner: dict[str, NodeInfo] = field(default_factory=dict)
    # Block uses inside blocks by hierarchical id ("layer2.first"): shapes in and out, costs of
    # all their copies (like a top-level block node's NodeInfo, also counted in their owner's).
    inner_uses: dict[str, NodeInfo] = field(default_factory=dict)
    # Every block use, at any depth, -> the id prefix of each copy ("layer1" -> "layer1.0.",
    # "layer1.1."; "layer2" -> "layer2.").
    copies: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def total_params(self) -> int:
        return sum(info.params for info in self.nodes.values())

    @property
    def total_flops(self) -> int:
        return sum(info.flops for info in self.nodes.values())

    @property
    def total_activation_bytes(self) -> int:
        return sum(info.activation_bytes for info in self.nodes.values())

    def layer_ids(self, node_ids) -> list[str]:
        """`node_ids` with each block node replaced by the layers inside it, in order, by
        hierarchical id (its port nodes, Identity, left out): what a layer picker steps through."""
        top = set(node_ids)
        inside: dict[str, list[str]] = {}
        for inner_id, info in self.inner.items():
            parts = inner_id.split(".")
            owner = next((o for o in (".".join(parts[:k]) for k in range(1, len(parts)))
                          if o in top), None)  # (a top-level id may itself hold a dot)
            if owner is not None and info.type != "Identity":
                inside.setdefault(owner, []).append(inner_id)
        return [i for n in node_ids for i in inside.get(n, [n])]

    def to_json(self) -> dict:
        """The `python -m builder check --json` shape (docs/graph-format.md)."""
        nodes = {node_id: _info_json(info) for node_id, info in self.nodes.items()}
        return {"valid": self.valid, "params": self.total_params, "flops": self.total_flops,
                "activation_bytes": self.total_activation_bytes, "nodes": nodes,
                "problems": [p.to_json() for p in self.problems]}

    def inside_json(self, prefix: str) -> dict:
        """One opened block use as the canvas shows it (`to_json`'s shape): the facts of the
        layers and nested block uses inside it by their id in the block (`prefix` is the use's
        hierarchical id with a dot, "layer1." or "layer1.0." for its first copy), and the problems
        of the node that holds it. A problem on a layer inside says where as `"inside"`, its id
        from the opened copy down ("conv1", "first.conv2" inside a nested use; the same for a
        problem in another copy of the opened use), which the canvas puts on the node it names;
        fixes apply to top-level nodes only, so none here."""
        layers = {inner_id[len(prefix):]: _info_json(info)
                  for inner_id, info in self.inner.items() if inner_id.startswith(prefix)}
        params = sum(n["params"] for n in layers.values())  # (nested uses' layers are in it)
        nodes = {**layers, **{use_id[len(prefix):]: _info_json(info)
                              for use_id, info in self.inner_uses.items()
                              if use_id.startswith(prefix)}}
        copies = next((c for c in self.copies.values() if prefix in c), (prefix,))
        problems = []
        for problem in self.problems:
            if problem.node is None or not prefix.startswith(problem.node + "."):
                continue
            start = next((c for c in copies if (problem.inner or "").startswith(c)), None)
            where = {"inside": problem.inner[len(start):]} if start else {}
            problems.append({**problem.to_json(), "node": None, "fix": None, **where})
        return {"valid": not problems, "params": params, "nodes": nodes, "problems": problems}

def _info_json(info: NodeInfo) -> dict:
    return {"type": info.type, "output_shape": list(info.output_shape), "params": info.params,
            "flops": info.flops, "activation_bytes": info.activation_bytes, "dtype": info.dtype}
