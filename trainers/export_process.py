"""Model export (ONNX, torch.export) in a capped process of its own, not in the server (#12).

Tracing a model copies it several times over: the ONNX exporter added 253 MB to the process for
a 9.9 M-parameter model, .pt2 164 MB (bench/bench_eval_memory.py), and freed memory is not all
handed back, so exports run in the server made a class's server grow past a gigabyte
(bench/README-load.md). Here each export runs in a fresh process forked from the job workers'
warm fork server, with the run memory cap (RLIMIT_AS, `Limits.run_memory_mb`) and one torch
thread; it writes the file and exits, so its memory goes back to the system whatever it built.
"""
from __future__ import annotations

import multiprocessing
from pathlib import Path

from trainers.process_worker import JOB_NICENESS, cap_address_space, start_warm_process

EXPORT_TIMEOUT_S = 300  # tracing a model the limits accept takes seconds; a hang must not stay


def export_in_process(fmt: str, graph: dict, path: Path, *, max_params: int,
                      max_activation_bytes: int, memory_mb: int) -> str | None:
    """Write `graph` as `fmt` ("onnx" or "pt2") to `path` in a child process; None when done,
    else why not (the exporter's GraphError/ExportError message, memory, a crash, a timeout),
    and then no file is left at `path` (an exporter may have begun writing it)."""
    receive, send = multiprocessing.Pipe(duplex=False)
    process = start_warm_process(_export_child, fmt, graph, str(path), max_params,
                                 max_activation_bytes, memory_mb, send)
    send.close()  # only the child writes: its end closing reads as EOF, not a hang
    try:
        if not receive.poll(EXPORT_TIMEOUT_S):
            process.kill()
            return f"tracing took longer than {EXPORT_TIMEOUT_S} s and was stopped."
        answer = receive.recv()
    except (EOFError, OSError):  # the child died before answering (killed, crashed)
        process.join(5)
        answer = (f"the export process ended unexpectedly (exit code {process.exitcode}); "
                  "nothing else on the server was affected.")
    finally:
        receive.close()
        process.join(5)
    if answer is not None:
        Path(path).unlink(missing_ok=True)
    return answer


def _export_child(fmt: str, graph: dict, path: str, max_params: int, max_activation_bytes: int,
                  memory_mb: int, answer) -> None:
    import os

    import torch

    from builder import GraphError
    from builder.export import ExportError, export_onnx, export_pt2

    os.nice(JOB_NICENESS)  # a student's click is served ahead of anyone's export
    torch.set_num_threads(1)
    cap_address_space(memory_mb)
    exporter = {"onnx": export_onnx, "pt2": export_pt2}[fmt]
    out_of_memory = (f"tracing this model needs more than the {memory_mb:,} MB an export may use "
                     "on this server; shrink the widest layers.")
    try:
        exporter(graph, path, max_params=max_params, max_activation_bytes=max_activation_bytes)
        answer.send(None)
    except (ExportError, GraphError) as error:  # the exporters wrap a MemoryError in ExportError
        answer.send(out_of_memory if isinstance(error.__cause__, MemoryError) else str(error))
    except MemoryError:
        answer.send(out_of_memory)
    finally:
        answer.close()
