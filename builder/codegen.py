"""Python source for a graph: the exported standalone file and, with another base class, the
very class compile_graph executes (so the two cannot drift)."""
import inspect

from builder.block_codegen import block_classes
from builder.catalog import CATALOG
from builder.codelines import (HELPERS, INDENT, call_text, forward_call, forward_line, init_line,
                               layer_kwargs, shape_text)
from builder.inference import validate
from builder.naming import attr_names, class_name as make_class_name, is_class_name, printable
from builder.report import Problem, Report
from builder.spec import Graph, GraphError, load_graph
from builder.ties import tied_keys, tied_pairs


def to_python_code(graph: "Graph | dict | str", class_name: str | None = None) -> str:
    """A readable, standalone PyTorch file defining the graph as one nn.Module class."""
    graph = load_graph(graph)
    if class_name is not None and (not is_class_name(class_name) or class_name in HELPERS):
        raise GraphError([Problem(None, "class_name", (
            f"the class name must be a Python identifier (letters, digits, _) that is not a "
            f"keyword or a name the file already uses; got {printable(repr(class_name))}"))])
    report = checked_report(graph)
    name = class_name or model_class_name(graph)
    types = {n.type for n in graph.nodes} | {n.type for b in graph.blocks.values() for n in b.nodes}
    used = sorted({CATALOG[t].constructor_code for t in types if t in CATALOG} & set(HELPERS))
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
    return name + "Model" if name in HELPERS or name in graph.blocks else name


def class_source(graph: Graph, report: Report, name: str, base: str) -> str:
    """One class per block (nested ones first), then `class <name>(<base>)` with one submodule
    per node and a forward with shape comments."""
    blocks, block_calls = block_classes(graph, report)
    names = attr_names([n.id for n in graph.nodes])
    init, body = [], []
    for node_id in report.order:
        info = report.nodes[node_id]
        call = block_calls.get(node_id) or call_text(CATALOG[info.type].constructor_code,
                                                     layer_kwargs(info))
        init.append(init_line(names[node_id], call))
        # An Input's line passes forward's argument of the same name through its Identity.
        sources = [names[s] for s in info.inputs] if info.inputs else [names[node_id]]
        body.append(forward_line(names[node_id], forward_call(info, f"self.{names[node_id]}",
                                                              sources),
                                 shape_text(info.output_shape, info.dtype)))
    init += [f"{INDENT}self.{alias} = self.{table}  # tied: one tensor, the Embedding's table"
             for alias, table in tied_keys(tied_pairs(graph.nodes), names).items()]
    args = ", ".join(["self"] + [names[i] for i in report.input_ids])
    outputs = ", ".join(names[i] for i in report.output_ids)
    doc = f'    """{_docstring_safe(graph.name)}: inputs {_signature(report, names)}."""\n\n'
    return ("".join(source + "\n\n" for source in blocks)
            + f"class {name}({base}):\n{doc}    def __init__(self):\n        super().__init__()\n"
            + "\n".join(init) + f"\n\n    def forward({args}):\n" + "\n".join(body)
            + f"\n        return {outputs}\n")


def _signature(report: Report, names: dict) -> str:
    inputs = [(names[i], report.nodes[i]) for i in report.input_ids]
    return ", ".join(f"{name} {shape_text(info.output_shape, info.dtype)}"
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
            + "".join(f"A tied weight is stored once: first set state[{alias!r}] = "
                      f"state[{shared!r}].\n"
                      for alias, shared in tied_keys(tied_pairs(graph.nodes),
                                                     attr_names([n.id for n in graph.nodes])
                                                     ).items())
            + '"""\n')


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
