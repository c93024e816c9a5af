"""The model summary: one row per layer and readable totals, from a graph and its report."""
import pandas as pd

from builder import Report

UNKNOWN = "?"  # a node whose shape is unknown: it, or something before it, has a problem


def summary_frame(graph: dict, report: Report) -> pd.DataFrame:
    """Layer, type, output shape and parameter count per node, in the graph's node order."""
    rows = []
    for node in graph.get("nodes", []):
        info = report.nodes.get(node["id"])
        rows.append({
            "layer": node["id"],
            "type": node["type"],
            "output shape": format_shape(info.output_shape) if info else UNKNOWN,
            "parameters": info.params if info else None,
        })
    frame = pd.DataFrame(rows, columns=["layer", "type", "output shape", "parameters"])
    return frame.astype({"parameters": "Int64"})


def format_shape(shape) -> str:
    """A per-sample shape as torch prints it, e.g. (64, 5, 5); several outputs are joined."""
    if shape is None:
        return UNKNOWN
    if shape and isinstance(shape[0], (list, tuple)):
        return ", ".join(format_shape(part) for part in shape)
    inner = ", ".join(str(size) for size in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def format_count(count: int) -> str:
    """A large count in words a student reads at a glance: 225,034 -> 225.0 K."""
    for limit, suffix in ((1e12, " T"), (1e9, " G"), (1e6, " M"), (1e3, " K")):
        if abs(count) >= limit:
            return f"{count / limit:.1f}{suffix}"
    return str(count)


def format_bytes(size: int) -> str:
    """Bytes in binary units: 3072 -> 3.0 KiB."""
    for limit, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if size >= limit:
            return f"{size / limit:.1f} {unit}"
    return f"{size} B"
