"""The graph file format (docs/graph-format.md): pydantic models, load_graph and save_graph.

Unknown fields are rejected by name; bad JSON is reported with its line and column; a file never
produces a raw pydantic or json traceback, only a GraphError listing Problems.
"""
import json
from pathlib import Path
from typing import Any

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from builder.plain_values import PlainValueError, check_param_values, loads_plain
from builder.report import Problem

FORMAT_VERSION = 2  # 2 added `blocks`; version 1 files load unchanged
MAX_NODES = 2000  # far above any teaching model; stops a pasted file from stalling the server
MAX_EDGES = 8000
MAX_FILE_BYTES = 5_000_000


class GraphError(ValueError):
    """A graph that cannot be loaded or compiled; `.problems` says what is wrong and where."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(_describe(p) for p in self.problems))


def _describe(problem: Problem) -> str:
    where = f"node '{problem.node}'" if problem.node else "graph"
    return f"{where}: {problem.message}"


class _Strict(BaseModel):
    # No NaN/Infinity anywhere (layout included): the browser's JSON cannot carry them back.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Node(_Strict):
    id: str = Field(min_length=1, max_length=200)
    type: str = Field(min_length=1, max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)

    @field_validator("params")
    @classmethod
    def _plain_values(cls, params: dict) -> dict:
        check_param_values(params)  # depth, NaN/Infinity, huge numbers: before anything recurses
        return params


class Edge(_Strict):
    source: str
    target: str
    port: int = Field(default=0, ge=0, le=64)


class Position(_Strict):
    x: float
    y: float


class Block(_Strict):
    """A named sub-graph (format version 2), used as a node type: its Input nodes are its ports,
    its one output is its Output node (or its one dead end). `params` are its parameters and
    their defaults; an inner param written "$name" takes the value of the block param `name`."""

    params: dict[str, Any] = Field(default_factory=dict)
    nodes: list[Node] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES)
    layout: dict[str, Position] = Field(default_factory=dict)


class Graph(_Strict):
    version: int = 1
    name: str = Field(default="untitled", max_length=200)
    nodes: list[Node] = Field(default_factory=list, max_length=MAX_NODES)
    edges: list[Edge] = Field(default_factory=list, max_length=MAX_EDGES)
    layout: dict[str, Position] = Field(default_factory=dict)
    blocks: dict[str, Block] = Field(default_factory=dict, max_length=100)

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if not 1 <= version <= FORMAT_VERSION:
            shown = version if abs(version) < 10**9 else "this large"
            raise ValueError(f"version {shown} is not supported (this LayerLoom reads "
                             f"versions 1 to {FORMAT_VERSION})")
        return version

    @model_validator(mode="after")
    def _blocks_need_version_2(self) -> "Graph":
        if self.blocks and self.version < 2:
            raise ValueError("blocks need format version 2: set \"version\": 2")
        return self

    def to_dict(self) -> dict:
        # A graph without blocks stays a version 1 file, readable by older LayerLoom.
        return self.model_dump(mode="json", exclude=set() if self.blocks else {"blocks"})

    def node(self, node_id: str) -> Node | None:
        return next((n for n in self.nodes if n.id == node_id), None)


def load_graph(source: "Graph | dict | str | Path") -> Graph:
    """A Graph from a Graph, a dict, a JSON string or a file path; raises GraphError."""
    if isinstance(source, Graph):
        return source
    if isinstance(source, (str, Path)):
        source = _parse_json(_read_text(source))
    if not isinstance(source, dict):
        raise GraphError([Problem(None, None, "a graph must be a JSON object "
                                              f"{{...}}, got {type(source).__name__}")])
    try:
        return Graph.model_validate(source)
    except ValidationError as err:
        raise GraphError(_problems_from_validation(err, source)) from None


def save_graph(graph: Graph, path: "str | Path") -> None:
    Path(path).write_text(json.dumps(graph.to_dict(), indent=2) + "\n", encoding="utf-8")


def _read_text(source: "str | Path") -> str:
    if isinstance(source, str) and source.lstrip("\ufeff \t\r\n")[:1] in ("{", "["):
        if len(source) > MAX_FILE_BYTES:
            raise GraphError([Problem(None, None, f"graph JSON is larger than "
                                                  f"{MAX_FILE_BYTES // 1_000_000} MB")])
        return source.lstrip("\ufeff")
    path = Path(source)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise GraphError([Problem(None, None, f"{path}: file is larger than "
                                                  f"{MAX_FILE_BYTES // 1_000_000} MB")])
        return path.read_text(encoding="utf-8-sig")  # Windows editors may add a BOM
    except (OSError, UnicodeDecodeError) as err:
        raise GraphError([Problem(None, None, f"cannot read graph file {path}: {err}")]) from None


def _parse_json(text: str) -> Any:
    try:
        return loads_plain(text)
    except PlainValueError as err:
        raise GraphError([Problem(None, None, f"invalid graph JSON at {err}")]) from None
    except json.JSONDecodeError as err:
        raise GraphError([Problem(None, None, f"invalid JSON at line {err.lineno}, column "
                                              f"{err.colno}: {err.msg}")]) from None
    except RecursionError:
        raise GraphError([Problem(None, None, "invalid graph JSON: lists or objects are nested "
                                              "too deeply")]) from None


def _problems_from_validation(err: ValidationError, raw: dict) -> list[Problem]:
    """One Problem per pydantic error, naming the node id (when there is one) and the field."""
    return [_problem_from_error(error, raw) for error in err.errors()]


def _problem_from_error(error: dict, raw: dict) -> Problem:
    loc = list(error["loc"])
    node_id = _node_id_at(loc, raw)
    path = _path_text(loc)
    field = str(loc[-1]) if loc else None
    if error["type"] == "extra_forbidden":
        allowed = _allowed_fields(loc)
        message = f"unknown field '{loc[-1]}' in {_path_text(loc[:-1]) or 'the graph'}" \
                  f" (allowed: {allowed})"
    elif error["type"] == "missing":
        message = f"{path} is missing"
    elif error["type"] == "value_error":  # our own validators: the message says it all
        message = (f"{path}: " if path else "") + error["msg"].removeprefix("Value error, ")
    else:
        message = f"{path}: {error['msg'].removeprefix('Value error, ')}"
    if node_id is not None:
        message = f"node '{node_id}': {message}"
    return Problem(node_id, field, message)


def _node_id_at(loc: list, raw: dict) -> str | None:
    if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
        try:
            node_id = raw["nodes"][loc[1]].get("id")
        except (KeyError, IndexError, TypeError, AttributeError):
            return None
        return node_id if isinstance(node_id, str) else None
    return None


def _path_text(loc: list) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_MODELS = {"nodes": Node, "edges": Edge, "layout": Position}


def _allowed_fields(loc: list) -> str:
    if loc[:1] == ["blocks"] and len(loc) > 2:  # blocks.<name>.<field>[...]
        loc = loc[2:]
        model = _MODELS.get(loc[0]) if len(loc) > 1 else Block
    else:
        model = _MODELS.get(loc[0]) if len(loc) > 1 else Graph
    return ", ".join(model.model_fields) if model else ""
