"""Checks on the plain values a graph file may carry, before anything recurses into them.

A graph comes from people (uploads, share links, the canvas), so its JSON may hold lists nested
hundreds of levels deep (Python's recursion limit is 1,000), integers with thousands of digits
(Python refuses to print them) or NaN/Infinity (which the browser's JSON cannot read back). Each
becomes one clear message here, checked without recursion; nothing downstream meets them.
"""
import json
import math
import re

MAX_DEPTH = 16  # a graph file needs about 6 levels (graph > nodes > node > params > list > list)
INT_LIMIT = 2**63  # beyond int64: no size, count or seed here can be that large
_MAX_INT_DIGITS = len(str(INT_LIMIT))


class PlainValueError(ValueError):
    """A value no graph may hold; the message says which and why."""


def check_param_values(params: dict) -> None:
    """Raise PlainValueError naming the first parameter nested too deeply, not finite, or too
    large. Iterative, so any depth is safe to look at."""
    stack = [(value, name, 1) for name, value in params.items()]
    while stack:
        value, name, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise PlainValueError(f"parameter '{name}' is nested more than {MAX_DEPTH} levels "
                                  "deep; a parameter is a number, a word or a short list")
        if isinstance(value, float) and not math.isfinite(value):
            shown = "NaN" if math.isnan(value) else "infinite"
            raise PlainValueError(f"parameter '{name}' is {shown}; give a finite number")
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
            raise PlainValueError(f"parameter '{name}' is a number of {value.bit_length():,} bits; "
                                  "numbers in a graph must be smaller than 2^63")
        if isinstance(value, (list, tuple)):
            stack.extend((item, name, depth + 1) for item in value)
        elif isinstance(value, dict):
            stack.extend((item, name, depth + 1) for item in value.values())


def loads_plain(text: str):
    """json.loads, refusing NaN/Infinity and integers beyond 2^63 with their line and column
    (PlainValueError); a RecursionError still means nesting too deep for the parser."""
    def refuse_constant(name: str):
        raise PlainValueError(_where(text, re.compile(rf"(?<![\w\"]){re.escape(name)}"),
                                     f"{name} is not a number JSON allows; give a finite number"))

    def parse_int(digits: str) -> int:
        if len(digits.lstrip("-")) > _MAX_INT_DIGITS or abs(int(digits)) >= INT_LIMIT:
            raise PlainValueError(_where(text, re.compile(rf"-?\d{{{_MAX_INT_DIGITS},}}"),
                                         f"a number with {len(digits.lstrip('-')):,} digits is "
                                         "too large; numbers in a graph must be smaller than 2^63"))
        return int(digits)

    def parse_float(literal: str) -> float:
        value = float(literal)
        if not math.isfinite(value):  # 1e400 overflows to infinity
            raise PlainValueError(_where(text, re.compile(re.escape(literal)),
                                         f"{literal} is too large for a number"))
        return value

    return json.loads(text, parse_constant=refuse_constant, parse_int=parse_int,
                      parse_float=parse_float)


def _where(text: str, pattern: re.Pattern, message: str) -> str:
    found = pattern.search(text)
    if found is None:
        return message
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return f"line {line}, column {column}: {message}"
