"""Block definitions from the modules that share a class and a structure (see hierarchy): the
values that differ between uses become block params, and each block is named after its class."""
import keyword
import re
from dataclasses import dataclass, field

from builder.catalog import CATALOG
from builder.naming import attr_name, class_name

LIST_CLASSES = ("torch.nn.modules.container.Sequential", "torch.nn.modules.container.ModuleList",
                "torch.nn.modules.container.ModuleDict")


@dataclass
class Item:
    """One node of a module's own graph: a layer, or a use of a block."""

    id: str
    type: str
    params: dict
    nodes: dict[str, str]  # builder node id -> its flat id below this item ("0.conv1")
    first: int  # position of its first builder node
    inputs: list[str] = field(default_factory=list)  # a use: builder nodes feeding it, by port


def last(path: str) -> str:
    return path.rsplit(".", 1)[-1]


class BlockNamer:
    """The blocks made so far (name -> definition) and, per block, what the report says."""

    def __init__(self):
        self.blocks: dict[str, dict] = {}
        self._made: list[tuple[str, str, list[str], str]] = []  # name, class, paths, difference
        self._first: dict[str, tuple[str, object]] = {}  # class -> (first block, its Local)

    def add(self, group: list, definition: dict) -> str:
        cls = group[0].cls
        base = attr_name(cls.rsplit(".", 1)[-1])
        if cls in LIST_CLASSES:  # named after where it is: layer2 -> Layer, downsample -> Downsample
            where = re.sub(r"[\d_]+$", "", last(group[0].path))
            base = class_name(where) if where else base
        if base in CATALOG or keyword.iskeyword(base) or base in ("GraphModule", "torch", "nn"):
            base += "Block"
        name, k = base, 2
        while name in self.blocks:
            name, k = f"{base}_{k}", k + 1
        self.blocks[name] = definition
        difference = ""
        if cls in self._first and cls not in LIST_CLASSES:
            first_name, first = self._first[cls]
            difference = f"; differs from {first_name}: {_difference(first, group[0])}"
        else:
            self._first[cls] = (name, group[0])
        self._made.append((name, cls, [local.path for local in group], difference))
        return name

    def lines(self) -> list[str]:
        return [f"{name} (class {cls}): {len(paths)} use{'s' * (len(paths) > 1)} at "
                f"{', '.join(paths)}{difference}" for name, cls, paths, difference in self._made]


def _difference(a, b) -> str:
    """Why two modules of one class are not one block."""
    mine, theirs = {i.id for i in b.items}, {i.id for i in a.items}
    parts = []
    if mine - theirs:
        parts.append(f"it has {', '.join(sorted(mine - theirs))}")
    if theirs - mine:
        parts.append(f"it lacks {', '.join(sorted(theirs - mine))}")
    if not parts and [i.type for i in a.items] != [i.type for i in b.items]:
        parts.append("its layers differ in type")
    if not parts and len(a.inputs) != len(b.inputs):
        parts.append(f"it takes {len(b.inputs)} inputs, not {len(a.inputs)}")
    return " and ".join(parts) or "its layers are wired differently"


def group_params(locals_: dict, namer: BlockNamer) -> dict:
    """One block per (class, structure) among `locals_` (path -> Local); returns per path the
    Item that uses it."""
    groups: dict[tuple, list] = {}
    for local in locals_.values():
        groups.setdefault(local.signature(), []).append(local)
    uses = {}
    for group in groups.values():
        first = group[0]
        params: dict[str, object] = {}
        vectors: dict[tuple, str] = {}  # the values in each use -> the block param holding them
        per_use: dict[str, dict] = {local.path: {} for local in group}
        nodes = [{"id": x, "type": "Input", "params": {}} for x in first.input_ids]
        for j, item in enumerate(first.items):
            inner = {}
            for key, value in item.params.items():
                values = tuple(_frozen(local.items[j].params[key]) for local in group)
                if key == "repeat" or len(set(values)) == 1:
                    inner[key] = value
                    continue
                if values not in vectors:
                    name = key if key not in params else attr_name(f"{item.id}_{key}")
                    while name in params:
                        name += "_"
                    vectors[values], params[name] = name, value
                    for local in group:
                        per_use[local.path][name] = local.items[j].params[key]
                inner[key] = f"${vectors[values]}"
            nodes.append({"id": item.id, "type": item.type, "params": inner})
        edges = [{"source": s, "target": t, "port": p} for s, t, p in first.edges]
        if first.out:
            out = "out" if all(node["id"] != "out" for node in nodes) else "out_"
            nodes.append({"id": out, "type": "Output", "params": {}})
            edges.append({"source": first.exit, "target": out, "port": 0})
        name = namer.add(group, {"params": params, "nodes": nodes, "edges": edges})
        for local in group:
            own = last(local.path)
            uses[local.path] = Item(own, name, per_use[local.path],
                                    {n: f"{own}.{flat}" for item in local.items
                                     for n, flat in item.nodes.items()},
                                    min(item.first for item in local.items), local.inputs)
    return uses


def _frozen(value):
    return tuple(value) if isinstance(value, list) else (type(value).__name__, value)
