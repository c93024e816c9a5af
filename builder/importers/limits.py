"""Bounds checked before an imported file's contents are allocated."""
from math import prod

from builder.compile import DEFAULT_MAX_PARAMS
from builder.importers.report import ImportRefused

MAX_FILE_BYTES = 1 << 30  # the whole file, and every zip member once unpacked
MAX_METADATA_BYTES = 64 << 20  # a .pt2's JSON program
MAX_INPUT_ELEMENTS = 1 << 24  # per sample: a 4096 x 4096 image
MAX_WEIGHT_ELEMENTS = max(DEFAULT_MAX_PARAMS, 1 << 26)


def check_input_shape(where: str, dims: list) -> list[int]:
    """dims include the batch; the rest must be known, positive and bounded."""
    shape = dims[1:]
    if not dims or any(d is None or d < 1 for d in shape):
        raise ImportRefused(f"{where} has shape {dims}: every dimension after the batch must be "
                            "a fixed positive size")
    if prod(shape) > MAX_INPUT_ELEMENTS:
        raise ImportRefused(f"{where} has shape {dims}: {prod(shape):,} values per sample, more "
                            f"than the {MAX_INPUT_ELEMENTS:,} LayerLoom accepts")
    return shape


def check_weight_elements(where: str, dims: list[int]) -> None:
    if any(d < 0 for d in dims) or prod(dims) > MAX_WEIGHT_ELEMENTS:
        raise ImportRefused(f"{where} has shape {dims}, above the {MAX_WEIGHT_ELEMENTS:,} values "
                            "a weight may have")
