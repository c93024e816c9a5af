"""The layer registry: one LayerSpec per node type, the single source of truth for the palette,
the parameter forms, shape inference, cost, the torch constructor and the generated forward line."""
from dataclasses import dataclass, field
from math import prod
from typing import Callable, Literal, NoReturn

from builder.params import ParamSpec
from builder.report import Fix, Shape

CATEGORIES = ("Input/Output", "Dense", "Convolution", "Pooling", "Normalization", "Regularization",
              "Activation", "Recurrent", "Attention/Transformer", "Merge", "Reshape", "Generative",
              "Imported")


class ShapeError(Exception):
    """Raised by a shape rule; validate() turns it into a Problem on the node."""

    def __init__(self, message: str, field: str | None = None, fix: Fix | None = None):
        super().__init__(message)
        self.message, self.field, self.fix = message, field, fix


def fmt(shape: Shape) -> str:
    """(64, 5, 5) style, with the trailing comma for rank 1: (10,)."""
    return f"({shape[0]},)" if len(shape) == 1 else "(" + ", ".join(map(str, shape)) + ")"


@dataclass
class NodeCall:
    """What a shape rule sees: one node, its checked params and its per-sample input shapes.

    Rules fill inferred sizes into `params` through `infer`, and raise ShapeError via `fail`.
    """

    id: str
    type: str
    params: dict
    shapes: list[Shape]
    dtypes: list[str]
    out_dtype: str | None = None  # set by rules whose output dtype is not the default
    tokens: dict[str, Shape] = field(default_factory=dict)  # connected token ports' shapes

    @property
    def shape(self) -> Shape:
        return self.shapes[0]

    def fail(self, expected: str, hint: str = "", *, received: str | None = None,
             field: str = "inputs", fix: Fix | None = None) -> NoReturn:
        """The input does not fit: "<Type> '<id>' expects X, received Y[: hint]"."""
        got = received if received is not None else fmt(self.shape)
        tail = f": {hint}" if hint else ""
        raise ShapeError(f"{self.type} '{self.id}' expects {expected}, received {got}{tail}",
                         field, fix)

    def error(self, message: str, field: str | None = None, fix: Fix | None = None) -> NoReturn:
        raise ShapeError(f"{self.type} '{self.id}': {message}", field, fix)

    def require_features(self) -> None:
        """For rules that read the last dimension: a scalar per sample has none."""
        if not self.shape:
            self.fail("at least one dimension per sample")

    def require_rank(self, *ranks: int, meaning: str) -> None:
        if len(self.shape) not in ranks:
            self.fail(meaning)

    def infer(self, name: str, value) -> None:
        """Fill an inferred size; a user-given value must agree with the incoming shape."""
        given = self.params.get(name)
        if given is not None and given != value:
            fix = Fix("set_param", self.id, f"Let {name} follow the input ({value})",
                      field=name, value=None)
            self.error(f"{name} is {given} but the input gives {value}", name, fix)
        self.params[name] = value


def elementwise_cost(params: dict, inputs: list[Shape], out: Shape) -> tuple[int, int]:
    """No weights; one operation per output element (activations, dropout)."""
    return 0, prod(out)


def free_cost(params: dict, inputs: list[Shape], out: Shape) -> tuple[int, int]:
    """No weights and no arithmetic (Input, Output, views)."""
    return 0, 0


@dataclass(frozen=True)
class LayerSpec:
    """One node type.

    `ports` name the inputs in port order; the first `min_inputs` are required, an empty optional
    port takes the previous port's tensor (MultiheadAttention with one input is self-attention).
    `token_ports` follow them: optional inputs of long token ids (a key-padding mask), never
    filled from another port; an empty one is simply not used.
    `variadic` nodes (Add, Concat) take any number >= min_inputs, ordered by port.
    `accepts`: the input dtype ("float", "long" token ids, or "any" which passes it through).
    `constructor`: the code expression building the module (default nn.<type>), with
    `fixed_kwargs` always passed (batch_first=True). `forward` is the generated forward line's
    right-hand side: {module} is the submodule, {inputs} the inputs, {<port>} one input; or a
    function (params, connected port names) -> that template, for masks that params switch on.
    `cost(params, input_shapes, output_shape) -> (parameter count, forward FLOPs per sample)`.
    `scratch(params, input_shapes, output_shape) -> values per sample` a forward holds besides
    its output (attention's weights: heads x query steps x key steps), counted in the node's
    activation memory.
    """

    type: str
    category: str
    doc: str
    shape: Callable[[NodeCall], Shape]
    params: tuple[ParamSpec, ...] = ()
    ports: tuple[str, ...] = ("input",)
    token_ports: tuple[str, ...] = ()
    min_inputs: int = 1
    variadic: bool = False
    accepts: Literal["float", "long", "any"] = "float"
    cost: Callable[[dict, list[Shape], Shape], tuple[int, int]] = elementwise_cost
    scratch: Callable[[dict, list[Shape], Shape], int] | None = None
    constructor: str = ""
    fixed_kwargs: dict = field(default_factory=dict)
    forward: str | Callable[[dict, tuple[str, ...]], str] = "{module}({inputs})"

    @property
    def constructor_code(self) -> str:
        return self.constructor or f"nn.{self.type}"

    @property
    def all_ports(self) -> tuple[str, ...]:
        return self.ports + self.token_ports

    def forward_template(self, params: dict, ports: tuple[str, ...]) -> str:
        return self.forward if isinstance(self.forward, str) else self.forward(params, ports)

    def to_json(self) -> dict:
        return {"type": self.type, "category": self.category, "doc": self.doc,
                "params": [p.to_json() for p in self.params], "ports": list(self.all_ports),
                "token_ports": list(self.token_ports), "min_inputs": self.min_inputs,
                "max_inputs": None if self.variadic else len(self.all_ports),
                "variadic": self.variadic, "accepts": self.accepts}


CATALOG: dict[str, LayerSpec] = {}


def register(spec: LayerSpec) -> LayerSpec:
    if spec.type in CATALOG:
        raise ValueError(f"layer type {spec.type!r} is registered twice")
    if spec.category not in CATEGORIES:
        raise ValueError(f"{spec.type}: unknown category {spec.category!r}")
    CATALOG[spec.type] = spec
    return spec


def catalog_json() -> list[dict]:
    """What the canvas palette and the parameter forms render, in category order."""
    ordered = sorted(CATALOG.values(), key=lambda s: CATEGORIES.index(s.category))
    return [spec.to_json() for spec in ordered]
