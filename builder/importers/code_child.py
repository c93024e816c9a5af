"""Run in a fresh interpreter by code_import, never imported by the server: execute a person's
model code, trace it with torch.export on example inputs, save the program as a .pt2 file.

argv: code file, inputs JSON ([[shape, dtype], ...], batch included), class name or "", memory
MB, output folder, CPU seconds. Writes result.json ({"ok": true} or {"error": ..., "line": n}) and model.pt2.
Only JSON and the .pt2 (parsed as data by import_pt2) go back: nothing is pickled.
"""
import json
import os
import sys
import traceback
from pathlib import Path


def main() -> None:
    code_file, inputs, class_name, memory_mb, out, cpu_s = sys.argv[1:7]
    out = Path(out)
    import resource
    resource.setrlimit(resource.RLIMIT_CPU, (int(cpu_s), int(cpu_s) + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (2**30, 2**30))  # no filling the disk
    import torch  # before the cap: torch's own libraries take address space
    torch.set_num_threads(1)
    _cap_memory(int(memory_mb))
    try:
        result = _trace(code_file, json.loads(inputs), class_name, out, torch)
    except MemoryError:
        result = {"error": f"the code needed more than {memory_mb} MB of memory"}
    if "allocate" in result.get("error", "") or "MemoryError" in result.get("error", ""):
        result["error"] += f"; an import may use at most {memory_mb} MB"
    (out / "result.json").write_text(json.dumps(result))


def _cap_memory(memory_mb: int) -> None:
    import resource
    with open("/proc/self/statm") as f:
        current = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = current + memory_mb * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # the hard limit too: no raising it


def _trace(code_file: str, inputs: list, class_name: str, out: Path, torch) -> dict:
    import types
    module = types.ModuleType("layerloom_model")  # importable by name, as tracing may need
    module.__file__ = code_file
    sys.modules[module.__name__] = module
    namespace = module.__dict__
    try:
        source = Path(code_file).read_text()
        exec(compile(source, code_file, "exec"), namespace)
    except BaseException as exc:  # SyntaxError, anything the code raises, SystemExit
        return _failure(exc, code_file, "running your code")
    model = _model(namespace, class_name, torch)
    if isinstance(model, dict):
        return model
    example = tuple(torch.zeros(shape, dtype=torch.long) if dtype == "long" else
                    torch.randn(shape) for shape, dtype in inputs)
    shapes = ", ".join(str(tuple(shape[1:])) for shape, _ in inputs)
    try:
        model.eval()
        with torch.no_grad():
            model(*example)  # a plain call first: its error names the person's line
        program = torch.export.export(model, example)
        torch.export.save(program, out / "model.pt2")
    except BaseException as exc:
        return _failure(exc, code_file, f"running forward on a batch of 2 inputs of shape {shapes}",
                        hint="check the input shapes" if _is_shape_error(exc) else None)
    return {"ok": True, "class": type(model).__name__}


def _model(namespace: dict, class_name: str, torch):
    """The module to trace: the class named, else a variable `model`, else the last nn.Module
    class the code defines, built without arguments."""
    nn_module = torch.nn.Module
    if class_name:
        cls = namespace.get(class_name)
        if not (isinstance(cls, type) and issubclass(cls, nn_module)):
            return {"error": f"your code defines no nn.Module class named {class_name!r}"}
    elif isinstance(namespace.get("model"), nn_module):
        return namespace["model"]
    else:
        classes = [v for v in namespace.values() if isinstance(v, type)
                   and issubclass(v, nn_module) and v.__module__ == "layerloom_model"]
        if not classes:
            return {"error": "your code defines no nn.Module class (nor a variable `model`)"}
        cls = classes[-1]
    try:
        return cls()
    except TypeError as exc:
        if "argument" in str(exc):
            return {"error": f"{cls.__name__}() needs arguments ({exc}); end your code with "
                             f"`model = {cls.__name__}(...)` giving them"}
        return _failure(exc, namespace["__file__"], f"building {cls.__name__}()")
    except BaseException as exc:
        return _failure(exc, namespace["__file__"], f"building {cls.__name__}()")


def _failure(exc: BaseException, code_file: str, doing: str, hint: str | None = None) -> dict:
    """The error, at the deepest line of the person's own file it passed through."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == code_file:
            line = frame.lineno
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}".rstrip(": ")[:400]
    where = f"line {line} of your code" if line else doing
    if line:
        text += f" — while {doing}"
    return {"error": f"{where}: {text}" + (f"; {hint}" if hint else ""), "line": line}


def _is_shape_error(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("shape", "size", "dimension", "expected input"))


if __name__ == "__main__":
    main()
