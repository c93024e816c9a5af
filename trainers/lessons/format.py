"""The lesson format: one JSON file per lesson, an experiment whose result is a checked claim.

A lesson asks one question and answers it with runs that differ in one thing:

    {"id": "vanishing_gradient", "title": "...", "idea": "activations",
     "question": "...", "change": "...", "look_for": "...",
     "graph": "mlp_digits" | {graph JSON}, "dataset": "digits", "dataset_options": {},
     "settings": {"epochs": 3, "lr": 0.01},                  # TrainConfig fields for every run
     "runs": {"relu":    {"label": "ReLU"},
              "sigmoid": {"label": "Sigmoid", "set_type": {"act1": "Sigmoid"},
                          "set_params": {"fc1": {"out_features": 8}}, "settings": {"lr": 0.1}},
              "cnn":     {"label": "CNN", "graph": "cnn_seed"}},  # a whole other network
     "claims": [{"text": "...", "left": MEASURE, "op": ">=", "factor": 10, "right": MEASURE}],
     "locked": ["dataset"], "hidden": []}

A MEASURE is {"run": name, "quantity": ..., ...} (see trainers.lessons.claims.QUANTITIES). A
claim holds when `left op factor * right`; the lesson keeps its promise when every claim holds.
Every run differs from the lesson's base only by its `set_type` / `set_params` graph edits (or a
`graph` of its own) and its `settings`, so the change is visible in the file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from builder import GraphError, load_graph
from builder.templates import load_template
from trainers.config import ConfigError, make_config
from trainers.lessons.claims import OPS, QUANTITIES, Claim, Measure

LIBRARY = Path(__file__).resolve().parent / "library"


class LessonError(ValueError):
    """A lesson file that cannot be used; the message names the lesson and the field."""


@dataclass(frozen=True)
class RunVariant:
    name: str
    label: str
    graph: dict | None = None  # its own network, when the lesson compares architectures
    set_type: dict = field(default_factory=dict)
    set_params: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    idea: str
    question: str
    change: str
    look_for: str
    graph: dict
    dataset: str
    dataset_options: dict
    settings: dict
    runs: tuple[RunVariant, ...]
    claims: tuple[Claim, ...]
    locked: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()

    def run(self, name: str) -> RunVariant:
        return next(run for run in self.runs if run.name == name)

    def graph_for(self, name: str) -> dict:
        """The lesson's graph with one run's edits applied (a fresh dict)."""
        variant = self.run(name)
        graph = json.loads(json.dumps(variant.graph or self.graph))
        for node in graph["nodes"]:
            node["type"] = variant.set_type.get(node["id"], node["type"])
            node["params"] = {**node["params"], **variant.set_params.get(node["id"], {})}
        return graph

    def settings_for(self, name: str) -> dict:
        return {**self.settings, **self.run(name).settings}

    @property
    def gpu_runs(self) -> tuple[str, ...]:
        """The runs whose settings put them on a CUDA GPU: the lesson needs a GPU to run them."""
        return tuple(run.name for run in self.runs
                     if str(self.settings_for(run.name).get("device", "cpu")).startswith("cuda"))


def parse_lesson(data: dict, source: str = "lesson") -> Lesson:
    """A Lesson from its JSON dict; LessonError naming the field for anything wrong."""
    def need(key, kind):
        if not isinstance(data.get(key), kind):
            raise LessonError(f"{source}: '{key}' must be a {kind.__name__}")
        return data[key]

    lesson_id = need("id", str)
    graph = _graph(data.get("graph"), f"{source}: 'graph'")
    runs = tuple(_variant(name, spec, graph, source) for name, spec in need("runs", dict).items())
    if len(runs) < 2:
        raise LessonError(f"{source}: 'runs' needs at least two runs to compare, got {len(runs)}")
    lesson = Lesson(
        id=lesson_id, title=need("title", str), idea=need("idea", str), question=need("question", str),
        change=need("change", str), look_for=need("look_for", str), graph=graph,
        dataset=need("dataset", str), dataset_options=dict(data.get("dataset_options", {})),
        settings=dict(data.get("settings", {})), runs=runs,
        claims=tuple(_claim(claim, {run.name for run in runs}, f"{source}: claim {index + 1}")
                     for index, claim in enumerate(need("claims", list))),
        locked=tuple(data.get("locked", ())), hidden=tuple(data.get("hidden", ())))
    for run in runs:
        try:
            make_config(**lesson.settings_for(run.name))
        except ConfigError as error:
            raise LessonError(f"{source}: run '{run.name}' settings: {error}") from None
    return lesson


def _graph(graph, where: str) -> dict:
    """A template's name or a graph's JSON, as a checked graph dict."""
    try:
        return (load_template(graph) if isinstance(graph, str) else load_graph(graph)).to_dict()
    except (GraphError, ValueError) as error:
        raise LessonError(f"{where}: {error}") from None


def _variant(name: str, spec: dict, base_graph: dict, source: str) -> RunVariant:
    if not isinstance(spec, dict):
        raise LessonError(f"{source}: run '{name}' must be an object")
    graph = _graph(spec["graph"], f"{source}: run '{name}' graph") if "graph" in spec else None
    node_ids = {node["id"] for node in (graph or base_graph)["nodes"]}
    for key in ("set_type", "set_params"):
        unknown = set(spec.get(key, {})) - node_ids
        if unknown:
            raise LessonError(f"{source}: run '{name}' {key} names nodes the graph lacks: "
                              f"{', '.join(sorted(unknown))}")
    return RunVariant(name=name, label=str(spec.get("label", name)), graph=graph,
                      set_type=dict(spec.get("set_type", {})),
                      set_params=dict(spec.get("set_params", {})),
                      settings=dict(spec.get("settings", {})))


def _claim(spec, run_names: set, source: str) -> Claim:
    if not isinstance(spec, dict):
        raise LessonError(f"{source} must be an object")

    def measure(key):
        raw = spec.get(key)
        if not isinstance(raw, dict) or raw.get("run") not in run_names:
            raise LessonError(f"{source}: '{key}' must name one of the runs "
                              f"({', '.join(sorted(run_names))})")
        if raw.get("quantity") not in QUANTITIES:
            raise LessonError(f"{source}: '{key}' quantity must be one of {', '.join(QUANTITIES)}")
        return Measure(**{k: raw[k] for k in ("run", "quantity", "node", "epoch", "threshold") if k in raw})

    if spec.get("op") not in OPS:
        raise LessonError(f"{source}: 'op' must be one of {' '.join(OPS)}")
    return Claim(text=str(spec.get("text", "")), left=measure("left"), op=spec["op"],
                 right=measure("right"), factor=float(spec.get("factor", 1.0)))


def load_lesson(path: Path) -> Lesson:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise LessonError(f"{Path(path).name}: {error}") from None
    return parse_lesson(data, Path(path).name)


def list_lessons() -> list[Lesson]:
    """The shipped lessons, in file-name order (files are numbered for the gallery's order)."""
    return [load_lesson(path) for path in sorted(LIBRARY.glob("*.json"))]
