"""Import nn.Module Python code: run it in a fresh, limited interpreter that traces it with
torch.export on example inputs and writes a .pt2 file, which import_pt2 then parses as data.

Running someone's code is running their program: it is off on a shared server and on for a
local single-user start (`code_import_refusal`, LAYERLOOM_CODE_IMPORT). The child runs in a
temporary folder with a minimal environment, an address-space cap taken after torch loads,
a CPU-time limit and a wall-clock timeout; nothing it returns is unpickled. Network access is
left to the operating system (a firewall or a network namespace, not this code).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from builder.importers.limits import check_input_shape
from builder.importers.pt2_import import import_pt2
from builder.importers.report import ImportRefused, ImportResult

CODE_IMPORT_ENV = "LAYERLOOM_CODE_IMPORT"
LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")
MAX_CODE_BYTES = 200_000
MAX_INPUTS = 8
CHILD = Path(__file__).with_name("code_child.py")


def code_import_refusal(env: Mapping[str, str] | None = None,
                        server_address: str | None = None) -> str | None:
    """None when importing code is allowed here, else why not. LAYERLOOM_CODE_IMPORT is `on`,
    `off` or `auto` (the default): on when the server listens on this machine alone
    (server.address localhost, as scripts/start.sh sets unless given one), else off."""
    env = os.environ if env is None else env
    setting = (env.get(CODE_IMPORT_ENV) or "auto").strip().lower()
    if setting == "on":
        return None
    if setting == "off":
        return f"importing Python code is turned off on this server ({CODE_IMPORT_ENV}=off)"
    if setting == "auto" and (server_address or "").strip() in LOCAL_ADDRESSES:
        return None
    if setting != "auto":
        return f"{CODE_IMPORT_ENV} must be on, off or auto, got {setting!r}; importing code is off"
    return ("importing Python code runs it on the server, so it is off on a shared server; "
            f"on your own computer start LayerLoom with scripts/start.sh (or set "
            f"{CODE_IMPORT_ENV}=on)")


def parse_input_shapes(text: str) -> list[tuple[list[int], str]]:
    """'3, 32, 32' or '3x32x32' per input (one sample, no batch), inputs separated by ';';
    'long' or 'int' after a shape makes token ids: '12 long'. ImportRefused names a bad one."""
    inputs = []
    for number, part in enumerate(p for p in text.split(";") if p.strip()):
        words = part.strip().split()
        dtype = "float"
        if words and words[-1].lower() in ("long", "int", "ids", "float"):
            dtype = "long" if words.pop().lower() != "float" else "float"
        dims = [d for d in re.split(r"[,x×\s]+", " ".join(words).strip("()[] ")) if d]
        if not dims or not all(d.isdigit() and int(d) > 0 for d in dims):
            raise ImportRefused(f"input shape {number + 1} ({part.strip()!r}) must be positive "
                                "whole numbers, e.g. 3, 32, 32 (one sample, without the batch)")
        shape = [int(d) for d in dims]
        check_input_shape(f"input shape {number + 1}", [2] + shape)
        inputs.append((shape, dtype))
    if not inputs:
        raise ImportRefused("give the shape of one input sample, e.g. 3, 32, 32")
    if len(inputs) > MAX_INPUTS:
        raise ImportRefused(f"at most {MAX_INPUTS} inputs, got {len(inputs)}")
    return inputs


def import_code(code: str, input_shapes: str, *, name: str = "model.py", class_name: str = "",
                memory_mb: int = 1024, cpu_s: int = 60, timeout_s: int = 90) -> ImportResult:
    """Trace `code` on inputs of `input_shapes` (parse_input_shapes) in a limited child process
    and import the program. Refuses (ImportRefused, naming the line of the code or the shape)
    rather than raising anything else."""
    if len(code.encode()) > MAX_CODE_BYTES:
        raise ImportRefused(f"{name} is over {MAX_CODE_BYTES // 1000} kB of code")
    inputs = [([2] + shape, dtype) for shape, dtype in parse_input_shapes(input_shapes)]
    if class_name and not class_name.isidentifier():
        raise ImportRefused(f"class name {class_name!r} is not a Python name")
    with tempfile.TemporaryDirectory(prefix="layerloom-code-") as folder:
        folder = Path(folder)
        code_file = folder / f"{re.sub(r'[^A-Za-z0-9_-]', '_', Path(name).stem)[:40] or 'model'}.py"
        code_file.write_text(code)
        _run_child(code_file, inputs, class_name, memory_mb, cpu_s, timeout_s, folder)
        try:
            answer = json.loads((folder / "result.json").read_text())
        except (OSError, ValueError):
            raise ImportRefused("the traced code ended without an answer (it may have exited or "
                                "been killed); nothing else on the server was affected") from None
        if not isinstance(answer, dict) or not answer.get("ok"):
            error = answer.get("error") if isinstance(answer, dict) else None
            raise ImportRefused(str(error or "tracing failed")[:600].replace(str(folder) + "/", ""))
        result = import_pt2(folder / "model.pt2")
    result.source = name
    result.graph["name"] = Path(name).stem[:60] or "imported"
    return result


def _run_child(code_file: Path, inputs: list, class_name: str, memory_mb: int, cpu_s: int,
               timeout_s: int, folder: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(folder),
           "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-I", str(CHILD), str(code_file), json.dumps(inputs), class_name,
               str(memory_mb), str(folder), str(cpu_s)]
    try:  # (the child sets its own limits first: preexec_fn is unsafe in a threaded server)
        done = subprocess.run(command, cwd=folder, env=env, start_new_session=True,
                              capture_output=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ImportRefused(f"the code ran longer than {timeout_s} s and was stopped (a loop that "
                            "never ends?)") from None
    if done.returncode < 0 and -done.returncode in (24, 9):  # SIGXCPU, SIGKILL at the hard limit
        raise ImportRefused(f"the code used more than {cpu_s} s of CPU time and was stopped (a "
                            "loop that never ends?)")
