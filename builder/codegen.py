"""Python source for a graph: the exported standalone file and, with another base class, the
very class compile_graph executes (so the two cannot drift)."""
import functools
import inspect

from torch import nn

from builder import ops
from builder.catalog import CATALOG
from builder.inference import validate
from builder.naming import attr_names, class_name as make_class_name
from builder.report import NodeInfo, Report
from builder.spec import Graph, GraphError, load_graph

# The graph-op modules (Add, Concat, Reparameterize, ...), by class name.
HELPERS = {name: cls for name, cls in vars(ops).items()
           if inspect.isclass(cls) and issubclass(cls, nn.Module)
           and cls.__module__ == ops.__name__}
_COMMENT_COLUMN = 44
_MAX_LINE = 99


def to_python_code(graph: "Graph | dict | str", class_name: str | None = None) -> str:
    """A readable, standalone PyTorch file defining the graph as one nn.Module class."""
    graph = load_graph(graph)
    report = checked_report(graph)
    name = class_name or model_class_name(graph)
    used = sorted({CATALOG[n.type].constructor_code for n in graph.nodes} & set(HELPERS))
    helpers = "".join(inspect.getsource(HELPERS[h]) + "\n\n" for h in used)
    return (_header(graph, report) + "import torch\nfrom torch import nn\n\n\n" + helpers
            + class_source(graph, report, name, base="nn.Module") + "\n\n" + _demo(report, name))


def checked_report(graph: Graph) -> Report:
    report = validate(graph)
    if not report.valid:
        raise GraphError(report.problems)
    return report


def model_class_name(graph: Graph) -> str:
    name = make_class_name(graph.name)
    return name + "Model" if name in HELPERS else name


def class_source(graph: Graph, report: Report, name: str, base: str) -> str:
    """`class <name>(<base>)` with one submodule per node and a forward with shape comments."""
    names = attr_names([n.id for n in graph.nodes])
    init = [_init_line(names[i], report.nodes[i]) for i in report.order]
    body = [_forward_line(report.nodes[i], names, i) for i in report.order]
    args = ", ".join(["self"] + [names[i] for i in report.input_ids])
    outputs = ", ".join(names[i] for i in report.output_ids)
    doc = f'    """{_docstring_safe(graph.name)}: inputs {_signature(report, names)}."""\n\n'
    return (f"class {name}({base}):\n{doc}    def __init__(self):\n        super().__init__()\n"
            + "\n".join(init) + f"\n\n    def forward({args}):\n" + "\n".join(body)
            + f"\n        return {outputs}\n")


def _init_line(name: str, info: NodeInfo) -> str:
    constructor, kwargs = _constructor(info)
    line = f"        self.{name} = {constructor}({kwargs})"
    if len(line) <= _MAX_LINE:
        return line
    return f"        self.{name} = {constructor}(\n            {kwargs})"


def _constructor(info: NodeInfo) -> tuple[str, str]:
    """The constructor expression and its keyword arguments as source text."""
    spec = CATALOG[info.type]
    defaults = _torch_defaults(spec.constructor_code)
    kwargs = {p.name: info.resolved_params[p.name] for p in spec.params if p.ctor}
    kwargs.update(spec.fixed_kwargs)
    # Only what differs from the torch default is written, so the file reads like hand code.
    shown = [f"{key}={value!r}" for key, value in kwargs.items()
             if key not in defaults or (defaults[key], type(defaults[key])) != (value, type(value))]
    return spec.constructor_code, ", ".join(shown)


@functools.cache
def _torch_defaults(constructor: str) -> dict:
    """Keyword defaults of the constructor. LSTM and GRU take (*args, **kwargs) and pass them on
    to RNNBase, so the first __init__ up the class chain that names its parameters is used."""
    cls = HELPERS.get(constructor) or getattr(nn, constructor.removeprefix("nn."))
    for klass in cls.__mro__:
        parameters = inspect.signature(klass.__init__).parameters.values()
        if not any(p.kind is p.VAR_POSITIONAL for p in parameters):
            return {p.name: p.default for p in parameters if p.default is not p.empty}
    return {}


def _forward_line(info: NodeInfo, names: dict, node_id: str) -> str:
    spec = CATALOG[info.type]
    # An Input's line passes forward's argument of the same name through its Identity.
    sources = [names[s] for s in info.inputs] if info.inputs else [names[node_id]]
    by_port = {} if spec.variadic else dict(zip(info.ports, sources))
    template = spec.forward_template(info.resolved_params, info.ports)
    call = template.format(module=f"self.{names[node_id]}", inputs=", ".join(sources), **by_port)
    first, *rest = f"        {names[node_id]} = {call}".split("\n")
    comment = f"{first.ljust(_COMMENT_COLUMN)}  # {_shape_text(info.output_shape, info.dtype)}"
    return "\n".join([comment] + [" " * 12 + line for line in rest])


def _shape_text(shape: tuple, dtype: str) -> str:
    text = "(N, " + ", ".join(map(str, shape)) + ")"
    return text + (" long" if dtype == "long" else "")


def _signature(report: Report, names: dict) -> str:
    inputs = [(names[i], report.nodes[i]) for i in report.input_ids]
    return ", ".join(f"{name} {_shape_text(info.output_shape, info.dtype)}"
                     for name, info in inputs)


def _docstring_safe(text: str) -> str:
    """The graph name is user text placed in generated (and executed) source: keep it from
    closing the docstring or escaping anything."""
    return "".join(c if c.isprintable() and c not in '"\\' else "'" for c in text)


def _header(graph: Graph, report: Report) -> str:
    return (f'"""{_docstring_safe(graph.name)} - a PyTorch model exported from LayerLoom.\n\n'
            "Standalone: needs only PyTorch. Shapes in comments are (batch N, ...).\n"
            f"Parameters: {report.total_params:,}.\n"
            "Weights saved by LayerLoom (safetensors) load with\n"
            "    model.load_state_dict(safetensors.torch.load_file(path))\n"
            '"""\n')


def _demo(report: Report, name: str) -> str:
    samples = []
    for node_id in report.input_ids:
        info = report.nodes[node_id]
        dims = ", ".join(map(str, (2,) + info.output_shape))
        make = "zeros" if info.dtype == "long" else "rand"
        extra = ", dtype=torch.long" if info.dtype == "long" else ""
        samples.append(f"torch.{make}({dims}{extra})")
    return (f'if __name__ == "__main__":\n    model = {name}().eval()\n'
            f"    print(model({', '.join(samples)}))\n")
