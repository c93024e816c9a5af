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
class ImportResult:
    """`graph` is a LayerLoom graph dict; `state_dict` loads into `compile_graph(graph)` when
    `weights_carried` (every layer's weights came along), else it holds the ones that did."""

    source: str
    graph: dict
    state_dict: dict[str, torch.Tensor]
    mapped: dict[str, int] = field(default_factory=dict)  # source op -> how many mapped
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.unmapped

    @property
    def weights_carried(self) -> bool:
        return self.complete and not any(n.startswith("weights not carried") for n in self.notes)

    def to_text(self) -> str:
        nodes = self.graph["nodes"]
        lines = [f"imported {self.source}: {len(nodes)} nodes, {len(self.graph['edges'])} edges"]
        lines += [f"mapped: {count} x {op}" for op, count in sorted(self.mapped.items())]
        lines += [item.line() for item in self.unmapped]
        lines += [f"note: {note}" for note in self.notes]
        if self.unmapped:
            lines.append(f"{len(self.unmapped)} operation(s) have no LayerLoom layer: the graph has "
                         "a gap at each; add a layer there (or change the model) before it runs")
        else:
            lines.append("every operation mapped" + (", weights included" if self.weights_carried
                                                     else ""))
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"source": self.source, "complete": self.complete,
                "weights_carried": self.weights_carried, "mapped": self.mapped,
                "unmapped": [vars(item) for item in self.unmapped], "notes": self.notes}
