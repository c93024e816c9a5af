"""Bounded evaluation: every forward pass the server process runs for a user fits a memory budget.

Training runs in a memory-capped worker, and so does export (trainers.export_process), but the
decision boundary and Inspect's probes run models in the server itself, where one student's wide
model could take the whole class down.
So those evaluations are sized by shape inference before anything is allocated:

- one sample of a model costs at most `report.total_activation_bytes` (every node's output, as a
  probe that keeps them all holds them; twice that when gradients are taken, as in saliency);
- a batch of `rows` samples must fit `Limits.eval_memory_mb` (LAYERLOOM_EVAL_MEMORY_MB): callers
  chunk (`rows_that_fit`, `probes.predict_proba`) and `guard(model)` refuses any forward above it
  with `EvalTooLarge`, whose message says what to change;
- at most `EVAL_SLOTS` evaluations run at once, server-wide;
- a decision boundary's grid is as fine as `BOUNDARY_FLOPS` allows (`boundary_side`), so a
  redraw costs a bounded share of a core however wide the model (its pages also redraw only
  for new weights, at most every few seconds: ui/boundary.py).

So the server's own memory grows by at most EVAL_SLOTS x eval_memory_mb for evaluations, whatever
a student builds (plus the snapshot's weights, which `Limits.max_params` bounds). One more thing
makes that true: glibc's malloc raises its mmap threshold as large blocks are freed, and then
keeps tens of MB per session thread in arenas it never returns; a fixed threshold hands every
block of 1 MiB or more back to the system when freed (bench/bench_eval_memory.py: 20 sessions at
once grew the server by 7.5 GB before, see bench/README-load.md for after).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from trainers.limits import ACTIVATION_TRAINING_FACTOR, MB, Limits, env_name

EVAL_SLOTS = 2  # evaluations at once: a 2-core server gains nothing from more
M_MMAP_THRESHOLD = -3  # glibc's mallopt() parameter number
LARGE_BLOCK_BYTES = 1 << 20
SLOT_WAIT_S = 20  # then the click gets "busy, try again" rather than hanging
BOUNDARY_SIDE = 60  # the decision boundary's grid: 60 x 60 points for an ordinary model
MIN_BOUNDARY_SIDE = 10  # coarser than this says nothing about the boundary: refuse instead
BOUNDARY_FLOPS = 2 * 10**9  # one boundary's forward passes: well under a second of one core
_slots = threading.BoundedSemaphore(EVAL_SLOTS)
_held = threading.local()  # per thread: slots are re-entrant (a probe inside an export, say)


class EvalTooLarge(RuntimeError):
    """This evaluation would not fit the server's budget; the message says what to change."""


@functools.cache
def budget_bytes() -> int:
    """The server's per-evaluation budget, read once from the environment."""
    return Limits.from_env().eval_memory_mb * MB


def sample_bytes(model: nn.Module, *, grad: bool = False) -> int:
    """Memory one sample costs in a forward pass, from shape inference (0 when unknown)."""
    report = getattr(model, "report", None)
    per_sample = int(report.total_activation_bytes) if report is not None else 0
    return per_sample * (ACTIVATION_TRAINING_FACTOR if grad else 1)


def rows_that_fit(model: nn.Module, wanted: int, *, grad: bool = False,
                  budget: int | None = None) -> int:
    """How many of `wanted` samples one forward pass may take (>= 1); EvalTooLarge if not one."""
    budget = budget_bytes() if budget is None else budget
    per_sample = sample_bytes(model, grad=grad)
    if per_sample > budget:
        raise EvalTooLarge(_too_large(per_sample, budget))
    return max(1, min(int(wanted), budget // per_sample)) if per_sample else max(1, int(wanted))


def boundary_side(model: nn.Module, *, flops: int = BOUNDARY_FLOPS) -> int:
    """The side of the decision boundary's square grid whose forward passes fit `flops`;
    EvalTooLarge when even a MIN_BOUNDARY_SIDE grid would not."""
    report = getattr(model, "report", None)
    per_sample = max(1, int(report.total_flops)) if report is not None else 1
    side = min(BOUNDARY_SIDE, math.isqrt(flops // per_sample))
    if side < MIN_BOUNDARY_SIDE:
        needed = MIN_BOUNDARY_SIDE ** 2 * per_sample
        raise EvalTooLarge(f"Drawing this model's decision boundary needs at least "
                           f"{needed / 1e9:,.1f} GFLOP (a {MIN_BOUNDARY_SIDE}x{MIN_BOUNDARY_SIDE} "
                           f"grid); the server draws one within {flops / 1e9:,.1f} GFLOP. "
                           "Shrink the widest layers to see it here.")
    return side


def chunks(model: nn.Module, count: int, *, most: int, grad: bool = False,
           budget: int | None = None) -> Iterator[slice]:
    """Slices over `count` samples, each at most `most` rows and within the budget."""
    step = min(most, rows_that_fit(model, most, grad=grad, budget=budget))
    for start in range(0, count, step):
        yield slice(start, min(start + step, count))


def guard(model: nn.Module, *, budget: int | None = None) -> nn.Module:
    """Make every forward of `model` check its batch against the budget first and hold an
    evaluation slot while it runs. Returns the same model (its hooks live as long as it does)."""
    budget = budget_bytes() if budget is None else budget
    return_large_blocks()
    # The hooks must not refer to the model: a module whose hooks hold it is a reference cycle,
    # and its weights (20 MB for a wide student's) would wait for the cyclic collector instead
    # of going when the page run that probed it ends.
    per_sample = {grad: sample_bytes(model, grad=grad) for grad in (False, True)}

    def check_and_enter(_module, args):
        entered = _entered_stack()
        entered.append(False)  # torch runs the after-hook even when this one raises
        rows = next((len(a) for a in args if isinstance(a, torch.Tensor) and a.dim() > 0), 1)
        needed = rows * per_sample[torch.is_grad_enabled()]
        if needed > budget:
            raise EvalTooLarge(_too_large(needed, budget, rows))
        _enter()
        entered[-1] = True

    def leave(*_):
        entered = _entered_stack()
        if entered and entered.pop():
            _leave()

    model.register_forward_pre_hook(check_and_enter)
    model.register_forward_hook(leave, always_call=True)
    return model


@functools.cache
def return_large_blocks() -> bool:
    """Fix glibc's mmap threshold at 1 MiB (once per process); False where there is no glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))
    except (OSError, AttributeError):
        return False


@contextmanager
def slot() -> Iterator[None]:
    """Hold one of the server's evaluation slots (export holds one for its whole tracing)."""
    _enter()
    try:
        yield
    finally:
        _leave()


def _enter() -> None:
    depth = getattr(_held, "depth", 0)
    if depth == 0 and not _slots.acquire(timeout=SLOT_WAIT_S):
        raise EvalTooLarge("The server is busy evaluating other students' models; "
                           "try again in a moment.")
    _held.depth = depth + 1


def _leave() -> None:
    depth = _held.depth
    _held.depth = depth - 1
    if depth == 1:
        _slots.release()


def _entered_stack() -> list[bool]:
    if not hasattr(_held, "entered"):
        _held.entered = []
    return _held.entered


def _too_large(needed: int, budget: int, rows: int = 1) -> str:
    what = "one sample" if rows == 1 else f"{rows:,} samples"
    return (f"Evaluating {what} of this model needs about {needed / MB:,.1f} MB of activations; "
            f"the server evaluates within {budget / MB:,.0f} MB ({env_name('eval_memory_mb')}). "
            "Shrink the widest layers to look at it here.")
