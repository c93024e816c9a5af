"""The generated source's building blocks, shared by the model class (builder.codegen) and the
block classes (builder.block_codegen): constructor calls, forward lines, shape comments."""
import functools
import inspect

from torch import nn

from builder import ops
from builder.catalog import CATALOG
from builder.report import NodeInfo

# The graph-op modules (Add, Concat, Reparameterize, ...), by class name.
HELPERS = {name: cls for name, cls in vars(ops).items()
           if inspect.isclass(cls) and issubclass(cls, nn.Module)
           and cls.__module__ == ops.__name__}
COMMENT_COLUMN = 44
MAX_LINE = 99
INDENT = " " * 8


class Name(str):
    """A constructor argument written as a bare name (a block class's own argument)."""

    def __repr__(self) -> str:
        return str(self)


def layer_kwargs(info: NodeInfo) -> dict:
    """Every constructor keyword of a catalog node, with inferred sizes filled in."""
    spec = CATALOG[info.type]
    kwargs = {p.name: info.resolved_params[p.name] for p in spec.params if p.ctor}
    kwargs.update(spec.fixed_kwargs)
    return kwargs


def call_text(constructor: str, kwargs: dict) -> str:
    """`constructor(key=value, ...)`, writing only what differs from the constructor's default,
    so the file reads like hand code (a Name is always written)."""
    defaults = torch_defaults(constructor) if constructor in HELPERS or \
        constructor.startswith("nn.") else {}
    shown = [f"{key}={value!r}" for key, value in kwargs.items()
             if key not in defaults or isinstance(value, Name)
             or (defaults[key], type(defaults[key])) != (value, type(value))]
    return f"{constructor}({', '.join(shown)})"


def init_line(name: str, call: str) -> str:
    line = f"{INDENT}self.{name} = {call}"
    if len(line) <= MAX_LINE or "(" not in call:
        return line
    head, args = call.split("(", 1)
    return f"{INDENT}self.{name} = {head}(\n{INDENT}    {args}"


@functools.cache
def torch_defaults(constructor: str) -> dict:
    """Keyword defaults of the constructor. LSTM and GRU take (*args, **kwargs) and pass them on
    to RNNBase, so the first __init__ up the class chain that names its parameters is used."""
    cls = HELPERS.get(constructor) or getattr(nn, constructor.removeprefix("nn."))
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters.values()
        if not any(p.kind is p.VAR_POSITIONAL for p in parameters):
            return {p.name: p.default for p in parameters if p.default is not p.empty}
    return {}


def forward_call(info: NodeInfo | None, module: str, sources: list[str]) -> str:
    """The right-hand side calling `module` on `sources` (the inputs by port); `info` is None
    for a block used inside a block."""
    spec = CATALOG.get(info.type) if info is not None else None
    if spec is None:  # a block: its class's forward takes its ports in order
        return f"{module}({', '.join(sources)})"
    by_port = {} if spec.variadic else dict(zip(info.ports, sources))
    template = spec.forward_template(info.resolved_params, info.ports)
    return template.format(module=module, inputs=", ".join(sources), **by_port)


def forward_line(name: str, call: str, comment: str | None) -> str:
    """`name = call  # comment`; a call spanning lines keeps the comment on its first line."""
    first, *rest = f"{INDENT}{name} = {call}".split("\n")
    if comment:
        first = f"{first.ljust(COMMENT_COLUMN)}  # {comment}"
    return "\n".join([first] + [INDENT + "    " + line for line in rest])


def shape_text(shape: tuple, dtype: str) -> str:
    text = "(N, " + ", ".join(map(str, shape)) + ")"
    return text + (" long" if dtype == "long" else "")
