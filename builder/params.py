"""Parameter declarations for catalog layers, and the checks that turn user values into typed ones.

One ParamSpec drives three things: the parameter form in the UI (via catalog_json), the value
check in validate(), and the constructor keyword passed to torch.
"""
import math
from dataclasses import dataclass
from typing import Any, Literal

ParamKind = Literal["int", "float", "bool", "choice", "ints", "shape", "dtype", "text"]
MAX_TEXT = 200
DTYPES = ("float", "long")


@dataclass(frozen=True)
class ParamSpec:
    """One constructor argument of a layer.

    `inferred` params (in_features, in_channels, ...) follow from the incoming shape and may be
    omitted. `choices` lists the allowed values of a "choice" param, and for an "ints" param the
    strings allowed besides numbers (e.g. padding="same"). `ctor=False` keeps a param out of the
    torch constructor (the Input's shape and dtype).
    """

    name: str
    kind: ParamKind
    default: Any = None
    doc: str = ""
    min: float | None = None
    max: float | None = None
    choices: tuple = ()
    inferred: bool = False
    ctor: bool = True

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "default": _jsonable(self.default),
                "min": self.min, "max": self.max, "choices": list(self.choices), "doc": self.doc,
                "inferred": self.inferred}


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value


def coerce(spec: ParamSpec, value: Any) -> Any:
    """Return `value` checked and normalised for `spec`; raise ValueError with a one-line reason.

    None is accepted only where the default is None (optional or inferred params).
    """
    if value is None:
        if spec.default is None:
            return None
        raise ValueError(f"{spec.name} needs a value (default {spec.default!r})")
    checker = _CHECKERS[spec.kind]
    return checker(spec, value)


def _as_int(spec: ParamSpec, value: Any) -> int:
    # JSON from a browser may carry 3.0 for 3; bools are ints in Python but never sizes here.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{spec.name} must be an integer, got {value!r}")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{spec.name} must be a whole number, got {value!r}")
    return _in_range(spec, int(value))


def _in_range(spec: ParamSpec, value):
    if spec.min is not None and value < spec.min:
        raise ValueError(f"{spec.name} must be at least {_num(spec.min)}, got {value!r}")
    if spec.max is not None and value > spec.max:
        raise ValueError(f"{spec.name} must be at most {_num(spec.max)}, got {value!r}")
    return value


def _num(bound: float):
    return int(bound) if float(bound).is_integer() else bound


def _check_int(spec, value):
    return _as_int(spec, value)


def _check_float(spec, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{spec.name} must be a number, got {value!r}")
    return _in_range(spec, float(value))


def _check_bool(spec, value):
    if not isinstance(value, bool):
        raise ValueError(f"{spec.name} must be true or false, got {value!r}")
    return value


def _check_choice(spec, value):
    if value not in spec.choices:
        allowed = ", ".join(repr(c) for c in spec.choices)
        raise ValueError(f"{spec.name} must be one of {allowed}, got {value!r}")
    return value


def _check_ints(spec, value):
    """An int or a list of ints (kernel_size=3 or [3, 5]); strings only from `choices`."""
    if isinstance(value, str) and spec.choices:
        return _check_choice(spec, value)
    if isinstance(value, str):
        raise ValueError(f"{spec.name} must be an integer or a list of integers, got {value!r}")
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(f"{spec.name} must not be an empty list")
        return [_as_int(spec, v) for v in value]
    return _as_int(spec, value)


def _check_shape(spec, value):
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{spec.name} must be a list of sizes such as [1, 28, 28], got {value!r}")
    return [_as_int(spec, v) for v in value]


def _check_dtype(spec, value):
    if value not in DTYPES:
        raise ValueError(f"{spec.name} must be 'float' or 'long' (token ids), got {value!r}")
    return value


def _check_text(spec, value):
    """A short one-line label (an imported operation's name)."""
    if not isinstance(value, str) or len(value) > MAX_TEXT or not value.isprintable():
        raise ValueError(f"{spec.name} must be one line of at most {MAX_TEXT} characters")
    return value


_CHECKERS = {"int": _check_int, "float": _check_float, "bool": _check_bool,
             "choice": _check_choice, "ints": _check_ints, "shape": _check_shape,
             "dtype": _check_dtype, "text": _check_text}
