"""Export a run as a standalone training project that scales beyond one machine.

The project is four files plus a README: model.py (the graph core's generated code), data.safetensors
(the dataset splits, so no LayerLoom loader is needed), config.json (the chosen hyperparameters) and
train.py (this package's `train_script.py`, copied verbatim), runnable with `python train.py` or
`torchrun --nproc_per_node=N train.py`.
"""
import io
import json
import zipfile
from pathlib import Path

from safetensors.torch import save as save_tensors

SUPPORTED_TASKS = ("classification", "regression", "autoencoder")
CONFIG_KEYS = ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "batch_size", "epochs",
               "scheduler", "grad_clip", "seed")
_TRAIN_SCRIPT = Path(__file__).with_name("train_script.py")

_README = """# {name}: exported from LayerLoom

    pip install torch safetensors
    python train.py                                  # one process (a GPU if there is one)
    torchrun --nproc_per_node=4 train.py             # 4 processes/GPUs on this machine
    torchrun --nnodes=2 --node_rank=R --master_addr=HOST --nproc_per_node=8 train.py   # 2 machines

`model.py` is the network, `config.json` the hyperparameters, `data.safetensors` the dataset splits.
The trained weights are written to `model.safetensors`.
"""


class ExportError(ValueError):
    """The run cannot be exported as a standalone script; the message says why."""


def training_project_files(graph, bundle, config: dict, task: str) -> dict[str, bytes]:
    """File name -> contents of the standalone project for `graph` trained on `bundle`."""
    from builder import to_python_code, validate

    if task not in SUPPORTED_TASKS:
        raise ExportError(f"task '{task}' cannot be exported yet; supported: {', '.join(SUPPORTED_TASKS)}")
    inputs = [n for n in graph.nodes if n.type == "Input"]
    if len(inputs) != 1:
        raise ExportError(f"the script trains single-input models; this graph has {len(inputs)} Inputs")
    report = validate(graph)
    if not report.valid:
        raise ExportError("the graph has problems; fix them on the Build page first: "
                          + "; ".join(p.message for p in report.problems[:3]))
    splits = {f"{part}_{split}": getattr(bundle, f"{part}_{split}").contiguous()
              for part in ("x", "y") for split in ("train", "val", "test")}
    settings = {key: config[key] for key in CONFIG_KEYS if key in config} | {"task": task}
    return {
        "model.py": to_python_code(graph, class_name="Model").encode(),
        "train.py": _TRAIN_SCRIPT.read_bytes(),
        "config.json": json.dumps(settings, indent=2).encode(),
        "data.safetensors": save_tensors(splits),
        "README.md": _README.format(name=graph.name or "model").encode(),
    }


def write_project(files: dict[str, bytes], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def zip_project(files: dict[str, bytes], root: str = "layerloom_project") -> bytes:
    """The project as a zip archive (what the Train page offers for download)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{root}/{name}", content)
    return buffer.getvalue()
