"""Attention masks in imported models, compared with the ones the catalog computes.

An attention call in a .pt2 or ONNX file reads its mask as a value made by other operations (a
constant upper triangle of -inf, `tokens == padding_idx`, torch's own conversions inside
MultiheadAttention). The readers evaluate those operations with a listed set of torch functions
(`pt2_masks`, `onnx_masks`: constants, buffers and probe token ids; nothing from the file is
executed) and `match` compares the mask reaching the attention scores with the catalog's: causal,
keys whose token id is `padding_idx` ignored, or both. A mask that differs anywhere, or that
cannot be evaluated, keeps the call op by op with a report line saying why.
"""
from collections.abc import Callable
from dataclasses import dataclass

import torch

MAX_MASK_VALUES = 1 << 22  # every tensor an evaluation makes is checked before it is allocated


class Unproven(Exception):
    """The mask cannot be shown equal to one the catalog computes; the message says why."""


class MaskEvaluator:
    """Evaluates a mask's value by name from the file's constants and the probe `tokens`, op by
    op from a fixed list of torch functions; each format's subclass reads its own ops."""

    def evaluate(self, name: str, tokens: dict[str, torch.Tensor]):
        try:
            return self._value(name, dict(tokens))
        except (RuntimeError, TypeError, ValueError, IndexError, KeyError) as exc:
            raise Unproven(f"its mask could not be evaluated ({type(exc).__name__})") from exc

    def _value(self, name: str, memo: dict):
        raise NotImplementedError


@dataclass
class MaskPlan:
    """A call's mask in catalog terms: `causal`, and the token ids behind the keys (a value of the
    source model) with the id meaning padding."""

    causal: bool = False
    key_tokens: str | None = None
    padding_idx: int = 0

    def params(self) -> dict:
        params = {"causal": True} if self.causal else {}
        if self.key_tokens is not None:
            params["padding_idx"] = self.padding_idx
        return params


def check_size(shape) -> list[int]:
    shape = [int(d) for d in shape]
    count = 1
    for d in shape:
        count *= max(d, 1)
    if count > MAX_MASK_VALUES or any(d < -1 for d in shape):
        raise Unproven(f"its mask would be {shape} values, more than LayerLoom evaluates")
    return shape


def probe_tokens(steps: int, pads: set[int]) -> torch.Tensor:
    """Token ids for the key steps: for each padding candidate c, rows of c, of c + 1, of both
    alternating either way, and c - 1, c, c + 1, ... along the steps."""
    rows = []
    for c in sorted(pads) or [0]:
        alternating = torch.arange(steps) % 2
        rows += [torch.full((steps,), c), torch.full((steps,), c + 1), c + alternating,
                 c + 1 - alternating, (c - 1 + torch.arange(steps)).clamp(min=0)]
    return torch.stack(rows)


def match(evaluate: Callable[[torch.Tensor | None], torch.Tensor], steps: tuple[int, int],
          tokens: str | None, pads: set[int], is_causal: bool = False) -> MaskPlan:
    """The plan whose mask equals `evaluate(probe)` (the mask added to the scores, or a boolean
    mask true where a query may look, as scaled_dot_product_attention takes it) for every probe;
    `tokens` names the token input the mask reads (None: a constant mask). Raises Unproven."""
    queries, keys = steps
    probe = probe_tokens(keys, pads) if tokens is not None else torch.zeros(1, keys, dtype=torch.long)
    mask = evaluate(probe if tokens is not None else None)
    allowed = _allowed(mask, probe.shape[0], queries, keys)
    candidates = [(causal, pad) for causal in (False, True)
                  for pad in (sorted(pads) if tokens is not None else [None])]
    for causal, pad in candidates:
        if is_causal and not causal:
            continue
        expected = torch.ones(probe.shape[0], 1, queries, keys, dtype=torch.bool)
        if causal or is_causal:
            expected &= torch.ones(queries, keys, dtype=torch.bool).tril()
        if pad is not None:
            expected &= (probe != pad)[:, None, None, :]
        if torch.equal(allowed, expected.expand_as(allowed)):
            return MaskPlan(causal or is_causal, tokens if pad is not None else None, pad or 0)
    what = "reads token ids but is not `tokens == padding_idx`" if tokens is not None else \
        "is not the causal mask (an upper triangle of -inf or True above the diagonal)"
    raise Unproven(f"its mask {what}, so LayerLoom cannot compute it")


def _allowed(mask: torch.Tensor, batch: int, queries: int, keys: int) -> torch.Tensor:
    """(batch, heads or 1, queries, keys): True where a query may look at a key."""
    if mask.dtype == torch.bool:
        allowed = mask
    elif mask.is_floating_point():
        lowest = mask == torch.finfo(mask.dtype).min  # ONNX's is_causal: exp() makes it 0 too
        if (~((mask == 0) | (mask == float("-inf")) | lowest)).any():
            raise Unproven("its mask adds values other than 0 and -inf to the scores")
        allowed = mask == 0
        if lowest.any() and not allowed.any(-1).all():
            raise Unproven("its mask blocks every key of a query with a finite value, where "
                           "LayerLoom's -inf gives no attention at all")
    else:
        raise Unproven(f"its mask has dtype {mask.dtype}")
    if allowed.dim() < 2:
        allowed = allowed.reshape(1, -1) if allowed.dim() else allowed.reshape(1, 1)
    try:
        allowed = allowed.expand(*allowed.shape[:-2], queries, keys)
    except RuntimeError as exc:
        raise Unproven(f"its mask has shape {list(mask.shape)}, not ({queries}, {keys})") from exc
    lead = allowed.shape[:-2].numel()
    if lead == 1:
        return allowed.reshape(1, 1, queries, keys).expand(batch, 1, queries, keys)
    if lead % batch:
        raise Unproven(f"its mask has shape {list(mask.shape)}, not one per sample")
    return allowed.reshape(batch, lead // batch, queries, keys)
