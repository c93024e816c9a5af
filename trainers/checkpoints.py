"""A run on disk: weights as safetensors next to the graph JSON, the settings and the metrics CSV.

Loading never unpickles anything. A weights file is checked before a single tensor is built:
the header's size is bounded, and every tensor's name, dtype, shape and byte range must match
the compiled model's state_dict, so a wrong, truncated or hostile file fails with a message that
names the tensor (or says it is not a safetensors file at all).
"""
from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path

import torch
from pydantic import ValidationError
from safetensors.torch import load_file, save_file
from torch import nn

from trainers.config import TrainConfig, describe_validation_error

WEIGHTS_FILE, GRAPH_FILE, SETTINGS_FILE, METRICS_FILE = (
    "weights.safetensors", "graph.json", "settings.json", "metrics.csv")
MAX_HEADER_BYTES = 16 * 2**20  # a header lists names and shapes: a few KiB per hundred tensors
SAFETENSORS_DTYPES = {
    "BOOL": torch.bool, "U8": torch.uint8, "I8": torch.int8, "I16": torch.int16,
    "I32": torch.int32, "I64": torch.int64, "F16": torch.float16, "BF16": torch.bfloat16,
    "F32": torch.float32, "F64": torch.float64,
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the tensor."""


@dataclass(frozen=True)
class RunFiles:
    graph: dict
    config: TrainConfig | None
    weights_path: Path
    metrics_csv: str | None


def save_weights(state: dict[str, torch.Tensor], path: str | Path) -> None:
    # safetensors refuses views and tensors that share memory: give it plain contiguous copies.
    save_file({name: t.detach().cpu().contiguous().clone() for name, t in state.items()}, str(path))


def save_run(directory: str | Path, *, graph: dict, state: dict[str, torch.Tensor],
             config: TrainConfig, metrics_csv: str | None = None) -> Path:
    """Write (or refresh) the run folder; returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    save_weights(state, directory / WEIGHTS_FILE)
    (directory / GRAPH_FILE).write_text(json.dumps(graph, indent=2))
    (directory / SETTINGS_FILE).write_text(config.model_dump_json(indent=2))
    if metrics_csv is not None:
        (directory / METRICS_FILE).write_text(metrics_csv)
    return directory


def load_run(directory: str | Path) -> RunFiles:
    """The folder's graph, settings and metrics; weights stay on disk until `load_weights`."""
    directory = Path(directory)
    graph_path, settings_path = directory / GRAPH_FILE, directory / SETTINGS_FILE
    for required in (graph_path, directory / WEIGHTS_FILE):
        if not required.is_file():
            raise CheckpointError(f"{required}: missing; a saved run has {GRAPH_FILE} and "
                                  f"{WEIGHTS_FILE}")
    try:
        graph = json.loads(graph_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{graph_path}: not valid JSON ({err})") from None
    config = None
    if settings_path.is_file():
        try:
            config = TrainConfig.model_validate_json(settings_path.read_text(encoding="utf-8"))
        except ValidationError as err:
            raise CheckpointError(f"{settings_path}: {describe_validation_error(err)}") from None
    metrics_path = directory / METRICS_FILE
    return RunFiles(graph, config, directory / WEIGHTS_FILE,
                    metrics_path.read_text() if metrics_path.is_file() else None)


def load_weights(path: str | Path, model: nn.Module) -> None:
    """Check `path` against the model's state_dict, then load it into the model."""
    model.load_state_dict(read_weights(path, model.state_dict()))


def read_weights(path: str | Path, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file, after checking every one against `expected`."""
    check_weights(path, expected)
    tensors = load_file(str(path))
    broken = [name for name, tensor in tensors.items()
              if tensor.is_floating_point() and not torch.isfinite(tensor).all()]
    if broken:  # else training starts, the loss is NaN at once, and the advice blames the lr
        shown = ", ".join(repr(name) for name in broken[:5]) + (" ..." if len(broken) > 5 else "")
        raise CheckpointError(f"{Path(path).name} holds NaN or infinite starting weights "
                              f"(in {shown}); start from fresh weights or another file")
    return tensors


def check_weights(path: str | Path, expected: dict[str, torch.Tensor], *, label: str | None = None) -> None:
    """Check a safetensors file's header (names, dtypes, shapes, byte ranges) against `expected`,
    reading no tensor data; `expected` may be meta tensors. Raises CheckpointError naming each.
    `label` names the file in messages (an upload's own name rather than where it was saved)."""
    path = Path(path)
    header, data_bytes = read_header(path, label=label)
    problems = list(_mismatches(header, expected, data_bytes))
    if problems:
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more" if len(problems) > 8 else "")
        raise CheckpointError(f"{label or path.name} does not fit this graph: {shown}")


def read_header(path: Path, *, label: str | None = None) -> tuple[dict, int]:
    """(tensor entries, size of the data area) from the JSON header, reading nothing else."""
    not_safetensors = f"{label or path.name} is not a safetensors weights file"
    size = path.stat().st_size
    with path.open("rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise CheckpointError(f"{not_safetensors} (only {size} bytes)")
        (header_len,) = struct.unpack("<Q", prefix)  # little-endian u64 header length
        if header_len > min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{not_safetensors} (its first 8 bytes announce a "
                                  f"{header_len}-byte header in a {size}-byte file)")
        raw = f.read(header_len)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CheckpointError(f"{not_safetensors} (its header is not JSON)") from None
    except (RecursionError, ValueError):  # nested thousands deep, or a number of 4,300+ digits
        raise CheckpointError(f"{not_safetensors} (its header nests too deeply or holds "
                              "numbers too large to read)") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{not_safetensors} (its header is not a JSON object)")
    header.pop("__metadata__", None)
    return header, size - 8 - header_len


def _ints(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool)
                                           for v in value)


def _mismatches(header: dict, expected: dict[str, torch.Tensor], data_bytes: int):
    for name in sorted(set(expected) - set(header)):
        yield f"tensor {name!r} is missing"
    for name in sorted(set(header) - set(expected)):
        yield f"tensor {name!r} is not in this graph"
    for name in sorted(set(header) & set(expected)):
        entry, want = header[name], expected[name]
        if (not isinstance(entry, dict) or not {"dtype", "shape", "data_offsets"} <= entry.keys()
                or not isinstance(entry["dtype"], str) or not _ints(entry["shape"])
                or not isinstance(entry["data_offsets"], list)):
            yield f"tensor {name!r} has a malformed header entry"
            continue
        dtype = SAFETENSORS_DTYPES.get(entry["dtype"])
        shape = entry["shape"]
        begin, end = (entry["data_offsets"] + [None, None])[:2]
        if dtype != want.dtype:
            yield f"tensor {name!r} is {entry['dtype']}, expected {want.dtype}"
        elif list(shape) != list(want.shape):
            yield f"tensor {name!r} has shape {list(shape)}, expected {list(want.shape)}"
        elif not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_bytes):
            yield f"tensor {name!r} points outside the file (bytes {begin}..{end} of {data_bytes})"
        elif end - begin != want.numel() * want.element_size():
            yield (f"tensor {name!r} holds {end - begin} bytes, expected "
                   f"{want.numel() * want.element_size()}")
