"""The module hierarchy of an imported model becomes blocks (graph format version 2).

Every module that holds layers (a BasicBlock, a `layer2` Sequential, a `downsample`) becomes a
block use named after its attribute, so compiled state_dict keys are the model's own
(`layer2.0.downsample.0.weight`) and published weights load without renaming. Uses of one class
with the same layers and wiring share one block; values that differ between them (channels,
stride) become block params. A class used with different layers (a BasicBlock with a downsample
and one without) gives one block per variant, and the report says how they differ. A Sequential
or ModuleList of copies of one block with the same values becomes one use with `repeat`.
A module whose values leave it more than once (it returns two tensors) stays flat.
"""
from dataclasses import dataclass, field

from builder.blocks import expand
from builder.importers.block_defs import LIST_CLASSES, BlockNamer, Item, group_params, last
from builder.naming import attr_name
from builder.spec import load_graph


@dataclass
class Folded:
    graph: dict | None = None  # None: keep the flat graph
    paths: dict[str, str] = field(default_factory=dict)  # builder node id -> module path
    lines: list[str] = field(default_factory=list)  # one per block, for the report
    notes: list[str] = field(default_factory=list)


@dataclass
class Local:
    """A module's own graph: its Input nodes, items and edges, as a block would hold them."""

    path: str
    cls: str
    items: list[Item]
    inputs: list[str]  # builder node ids outside, by port
    input_ids: list[str]
    edges: list[tuple[str, str, int]]
    exit: str | None  # the item whose value leaves the module
    out: bool  # needs an Output node (the exit also feeds an item inside)

    def signature(self) -> tuple:
        return (self.cls, tuple(self.input_ids), self.out, tuple(self.edges),
                tuple((i.id, i.type, tuple(sorted(i.params)), i.params.get("repeat"))
                      for i in self.items))


def _parent(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path else ""


class _Folder:
    def __init__(self, graph: dict, scopes: dict, module_of: dict):
        self.graph, self.module_of = graph, module_of
        self.order = {n["id"]: i for i, n in enumerate(graph["nodes"])}
        self.preds: dict[str, list[tuple[str, int]]] = {n: [] for n in self.order}
        self.succs: dict[str, set[str]] = {n: set() for n in self.order}
        for edge in graph["edges"]:
            self.preds[edge["target"]].append((edge["source"], edge.get("port", 0)))
            self.succs[edge["source"]].add(edge["target"])
        self.classes = {path: cls for stack in scopes.values() for path, cls in reversed(stack)}
        innermost = [stack[-1][0] for stack in scopes.values() if stack]
        self.inner_count = {path: innermost.count(path) for path in set(innermost)}
        self.holders = {_parent(path) for path in self.classes}
        self.home = {n["id"]: self._home(n, scopes.get(n["id"], [])) for n in graph["nodes"]}
        self.namer = BlockNamer()
        self.notes: list[str] = []

    def _home(self, node: dict, stack: list) -> tuple[str, str | None]:
        """(the module path holding the node, its name there when a module gives one). A module
        is one layer (a leaf) when it is torch's (nn.ReLU, even called twice) or makes one node."""
        if node["type"] in ("Input", "Output"):
            return "", node["id"]
        module = self.module_of.get(node["id"])
        if module is None and stack:
            path, cls = stack[-1]
            leaf = path not in self.holders and (
                self.inner_count[path] == 1
                or (cls.startswith("torch.nn.") and cls not in LIST_CLASSES))
            if not leaf:
                return path, None
            module = path
        return (_parent(module), last(module)) if module else ("", None)

    def run(self) -> Folded:
        homes = {path for path, _ in self.home.values() if path}
        paths = set()
        for path in homes:
            while path:
                paths.add(path)
                path = _parent(path)
        if not paths:
            return Folded()
        for node_id, (path, name) in self.home.items():  # a layer named like a module that
            if name and f"{path}.{name}".lstrip(".") in paths:  # holds others keeps no name
                self.home[node_id] = (f"{path}.{name}".lstrip("."), None)
        results: dict[str, list[Item]] = {}
        for depth in sorted({p.count(".") for p in paths}, reverse=True):
            level = sorted(p for p in paths if p.count(".") == depth)
            locals_ = {}
            for path in level:
                items = self._items(path, results)
                local = self._local(path, items)
                if isinstance(local, str):
                    self.notes.append(f"module '{path}' ({self.classes.get(path, 'ModuleList')})"
                                      f" kept flat: {local}")
                    results[path] = self._inlined(path, items)
                elif (repeat := _repeat(local)) is not None:
                    results[path] = [repeat]
                else:
                    locals_[path] = local
            for path, item in group_params(locals_, self.namer).items():
                results[path] = [item]
        root = self._items("", results)
        local = self._local("", root)
        if isinstance(local, str) or not self.namer.blocks:
            return Folded(notes=self.notes)
        return self._finish(local)

    def _items(self, path: str, results: dict[str, list[Item]]) -> list[Item]:
        """The items directly in module `path`: its own layers, then its children's results."""
        own = [n for n, (home, _) in self.home.items() if home == path]
        children = [c for c in results if _parent(c) == path and c]
        # weights keep their module's name; other layers (nn.ReLU called twice) get fresh ones
        taken = {self.home[n][1] for n in own if n in self.module_of} | {last(c) for c in children}
        items = []
        for node_id in own:
            node = self.graph["nodes"][self.order[node_id]]
            name = self.home[node_id][1]
            if node_id not in self.module_of or not name:
                name = _fresh(name or node["type"].lower(), taken)
            items.append(Item(name, node["type"], node["params"], {node_id: name},
                              self.order[node_id]))
        for child in children:
            items += results[child]
        return sorted(items, key=lambda item: item.first)

    def _inlined(self, path: str, items: list[Item]) -> list[Item]:
        """A module that cannot be a block: its items move up, named `<module>_<item>`."""
        taken: set[str] = set()
        for item in items:
            new = _fresh(attr_name(f"{last(path)}_{item.id}"), taken)
            item.nodes = {n: new + flat[len(item.id):] for n, flat in item.nodes.items()}
            item.id = new
        return items

    def _local(self, path: str, items: list[Item]) -> "Local | str":
        """The module's own graph, or why it cannot be a block."""
        if not items:
            return "it holds no layer"
        owner = {n: item for item in items for n in item.nodes}
        inputs: list[str] = []
        edges: list[tuple[str, str, int]] = []
        for item in items:
            for node_id in sorted(item.nodes, key=self.order.get):
                for source, port in sorted(self.preds[node_id], key=lambda sp: sp[1]):
                    if source in item.nodes:
                        continue
                    if source not in owner and source not in inputs:
                        inputs.append(source)
                    if item.inputs:
                        port = item.inputs.index(source)
                    edge = ((owner[source].id if source in owner else source), item.id, port)
                    if edge not in edges:
                        edges.append(edge)
        exits = [n for n in owner if not self.succs[n] or not self.succs[n] <= owner.keys()]
        if path and len(exits) != 1:
            return f"{len(exits)} values leave it (a block has one output)"
        taken = {item.id for item in items}
        input_ids = [_fresh("x", taken) for _ in inputs]
        names = dict(zip(inputs, input_ids))
        edges = [(names.get(s, s), t, p) for s, t, p in edges]
        exit_id = owner[exits[0]].id if path else None
        return Local(path, self.classes.get(path, "torch.nn.modules.container.ModuleList"),
                     items, inputs, input_ids, edges, exit_id,
                     any(s == exit_id for s, _, _ in edges))

    def _finish(self, root: Local) -> Folded:
        nodes = [{"id": item.id, "type": item.type, "params": item.params} for item in root.items]
        edges = [{"source": s, "target": t, "port": p} for s, t, p in root.edges]
        graph = {"version": 2, "name": self.graph["name"], "nodes": nodes, "edges": edges,
                 "blocks": self.namer.blocks}
        expansion = expand(load_graph(graph))
        if expansion.problems:
            return Folded(notes=self.notes + ["the module hierarchy could not become blocks ("
                                              f"{expansion.problems[0].message}); kept flat"])
        flat = {n: item.nodes[n] for item in root.items for n in item.nodes}
        paths = {n: expansion.paths[flat[n]] for n in flat}
        return Folded(graph, paths, self.namer.lines(), self.notes)


def _repeat(local: Local) -> Item | None:
    """A Sequential (or ModuleList) of 2+ copies of one block with the same values, chained."""
    items = local.items
    chain = [local.input_ids[0]] + [item.id for item in items] if len(local.inputs) == 1 else []
    if (len(items) < 2 or [i.id for i in items] != [str(k) for k in range(len(items))]
            or any(i.type != items[0].type or i.params != items[0].params or not i.inputs
                   or i.params.get("repeat", 1) != 1 for i in items)
            or local.edges != [(a, b, 0) for a, b in zip(chain, chain[1:])]):
        return None
    name = last(local.path)
    return Item(name, items[0].type, {**items[0].params, "repeat": len(items)},
                {n: f"{name}.{flat}" for item in items for n, flat in item.nodes.items()},
                items[0].first, local.inputs)


def _fresh(base: str, taken: set[str]) -> str:
    name, k = base, 2
    while name in taken:
        name, k = f"{base}_{k}", k + 1
    taken.add(name)
    return name


def fold_modules(graph: dict, scopes: dict, module_of: dict) -> Folded:
    """Blocks from the module each node came from (`scopes`: node id -> module stack,
    `module_of`: node id -> the module path of its weights)."""
    return _Folder(graph, scopes, module_of).run()
