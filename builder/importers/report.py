"""What an import produced: the graph, its weights, and a report of what mapped and what did not."""
from dataclasses import dataclass, field

import torch


class ImportRefused(Exception):
    """The file cannot be imported at all (not a model, too big, unsafe); the message says why."""


@dataclass
class Unmapped:
    """One source operation with no catalog layer: what it was, where, and which nodes lost an input."""

    op: str
    where: str
    feeds: list[str] = field(default_factory=list)

    def line(self) -> str:
        gap = (f"; fill the gap before {', '.join(repr(f) for f in self.feeds)}" if self.feeds
               else "")
        return f"unmapped: {self.op} at {self.where}{gap}"


@dataclass
class KeptOpaque:
    """A source operation kept as an Opaque node: it shows its shape, and `computes` when it is
    one of the functions builder.ops.Opaque lists."""

    op: str
    where: str
    node: str
    computes: bool

    def line(self) -> str:
        how = ("computes as before" if self.computes else
               "shows its shape only: LayerLoom cannot compute it; replace it before training")
        return f"opaque: {self.op} at {self.where} is node '{self.node}' ({how})"


@dataclass
class ImportResult:
    """`graph` is a LayerLoom graph dict; `state_dict` loads into `compile_graph(graph)` when
    `weights_carried` (every layer's weights came along), else it holds the ones that did."""

    source: str
    graph: dict
    state_dict: dict[str, torch.Tensor]
    mapped: dict[str, int] = field(default_factory=dict)  # source op -> how many mapped
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    opaque: list[KeptOpaque] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)  # the blocks the module hierarchy became

    @property
    def complete(self) -> bool:
        """Every operation became a catalog layer (no gap, no Opaque node)."""
        return not self.unmapped and not self.opaque

    @property
    def computable(self) -> bool:
        """The graph compiles: no gap, and every Opaque node computes."""
        return not self.unmapped and all(item.computes for item in self.opaque)

    @property
    def weights_carried(self) -> bool:
        return self.computable and not any(n.startswith("weights not carried") for n in self.notes)

    def to_text(self) -> str:
        nodes = self.graph["nodes"]
        lines = [f"imported {self.source}: {len(nodes)} nodes, {len(self.graph['edges'])} edges"]
        lines += [f"mapped: {count} x {op}" for op, count in sorted(self.mapped.items())]
        lines += [f"block: {line}" for line in self.blocks]
        lines += [item.line() for item in self.opaque]
        lines += [item.line() for item in self.unmapped]
        lines += [f"note: {note}" for note in self.notes]
        if self.unmapped:
            lines.append(f"{len(self.unmapped)} operation(s) have no LayerLoom layer: the graph has "
                         "a gap at each; add a layer there (or change the model) before it runs")
        elif not self.computable:
            lines.append("some Opaque nodes cannot compute: replace them before training")
        else:
            lines.append(("every operation mapped" if self.complete else "every operation mapped "
                          "or kept computing") + (", weights included" if self.weights_carried else ""))
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"source": self.source, "complete": self.complete, "computable": self.computable,
                "weights_carried": self.weights_carried, "mapped": self.mapped,
                "opaque": [vars(item) for item in self.opaque],
                "unmapped": [vars(item) for item in self.unmapped], "notes": self.notes, "blocks": self.blocks}
