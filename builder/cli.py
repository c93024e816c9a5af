"""Command line: `python -m builder check GRAPH.json [--json]` and
`python -m builder export GRAPH.json --format py|onnx|pt2 -o FILE` and
`python -m builder import MODEL.onnx|MODEL.pt2 -o GRAPH.json [--weights W.safetensors]`.

Exit status: 0 ok, 1 the graph is invalid (problems printed per node), 2 the export or import
failed, 3 imported with operations no layer maps (the report names each; the graph has gaps).
ONNX and .pt2 export build the model, so they obey a shared server's model limits
(--max-params, --max-activation-mb) unless `--no-limits` lifts them on one's own machine.
Node ids and messages are printed with control characters escaped.
"""
import argparse
import importlib
import json
import sys
from pathlib import Path

from builder.codegen import to_python_code
from builder.compile import DEFAULT_MAX_ACTIVATION_MB, DEFAULT_MAX_PARAMS
from builder.inference import validate
from builder.naming import printable
from builder.report import Problem, Report
from builder.spec import GraphError, load_graph


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "import":
        return _import(args)
    try:
        graph = load_graph(Path(args.graph))
    except GraphError as err:
        return _fail(err.problems, args)
    if args.command == "check":
        return _check(graph, args)
    return _export(graph, args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m builder", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate a graph and show shapes and costs")
    check.add_argument("graph", help="graph JSON file")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    export = commands.add_parser("export", help="write the model as Python, ONNX or .pt2")
    export.add_argument("graph", help="graph JSON file")
    export.add_argument("--format", choices=("py", "onnx", "pt2"), default="py")
    export.add_argument("-o", "--output", required=True, help="file to write")
    export.add_argument("--class-name", help="class name in the Python file")
    export.add_argument("--max-params", type=int, default=DEFAULT_MAX_PARAMS,
                        help="refuse ONNX/.pt2 export of bigger models (default %(default)s)")
    export.add_argument("--max-activation-mb", type=int, default=DEFAULT_MAX_ACTIVATION_MB,
                        help="refuse ONNX/.pt2 export needing more activation memory to trace")
    export.add_argument("--no-limits", action="store_true",
                        help="lift both limits (on your own machine)")
    imports = commands.add_parser("import", help="turn an ONNX or torch.export .pt2 model into "
                                  "a graph, printing what mapped and what did not")
    imports.add_argument("model", help=".onnx or .pt2 file (parsed, never unpickled)")
    imports.add_argument("-o", "--output", required=True, help="graph JSON file to write")
    imports.add_argument("--weights", help="also write the imported weights (safetensors)")
    imports.add_argument("--json", action="store_true", help="print the report as JSON")
    return parser


def _import(args) -> int:
    from builder.importers import ImportRefused, import_model  # needs onnx only for .onnx files

    try:
        result = import_model(args.model)
    except ImportRefused as err:
        print(printable(f"error: cannot import {args.model}: {err}"), file=sys.stderr)
        return 2
    try:
        Path(args.output).write_text(json.dumps(result.graph, indent=1), encoding="utf-8")
        if args.weights:
            from safetensors.torch import save_file

            save_file({k: v.contiguous() for k, v in result.state_dict.items()}, args.weights)
    except OSError as err:
        print(f"error: cannot write: {err}", file=sys.stderr)
        return 2
    text = result.to_text().splitlines()
    print(json.dumps(result.to_json(), indent=2) if args.json else "\n".join(map(printable, text)))
    return 0 if result.complete else 3


def _check(graph, args) -> int:
    report = validate(graph)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(_table(report))
        _print_problems(report.problems)
    return 0 if report.valid else 1


def _table(report: Report) -> str:
    rows = [("node", "type", "output shape", "params", "FLOPs")]
    for node_id in report.order:
        info = report.nodes.get(node_id)
        if info is not None:
            rows.append((printable(node_id), info.type, str(list(info.output_shape)),
                         f"{info.params:,}", f"{info.flops:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"total: {report.total_params:,} parameters, {report.total_flops:,} FLOPs and "
                 f"{report.total_activation_bytes:,} bytes of activations per sample")
    return "\n".join(lines)


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        where = f"node '{problem.node}'" if problem.node else "graph"
        field = f" [{problem.field}]" if problem.field else ""
        fix = f"  (fix: {problem.fix.label})" if problem.fix else ""
        print(printable(f"error: {where}{field}: {problem.message}{fix}"), file=sys.stderr)


def _fail(problems: list[Problem], args) -> int:
    if getattr(args, "json", False):
        print(json.dumps(Report(problems=problems).to_json(), indent=2))
    else:
        _print_problems(problems)
    return 1


def _export(graph, args) -> int:
    try:
        if args.format == "py":
            Path(args.output).write_text(to_python_code(graph, args.class_name), encoding="utf-8")
        else:
            limits = {} if args.no_limits else {
                "max_params": args.max_params,
                "max_activation_bytes": args.max_activation_mb * 2**20}
            error = _export_with_plugin(graph, args.format, args.output, limits)
            if error:
                print(printable(f"error: {args.format} export failed: {error}"), file=sys.stderr)
                return 2
    except GraphError as err:
        if any(problem.field in ("params", "activations") for problem in err.problems):
            print("note: on your own machine, --no-limits lifts the model limits", file=sys.stderr)
        return _fail(err.problems, args)
    except OSError as err:
        print(f"error: cannot write {args.output}: {err}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}")
    return 0


def _export_with_plugin(graph, fmt: str, output: str, limits: dict) -> str | None:
    """ONNX and .pt2 live in builder.export, imported only when asked for (heavy, optional).
    Returns why the export failed, or None."""
    try:
        export = importlib.import_module("builder.export")
    except ImportError as err:
        return f"builder/export.py could not be loaded ({err})"
    try:
        getattr(export, f"export_{fmt}")(graph, output, **limits)
    except export.ExportError as err:
        return str(err)
    return None
