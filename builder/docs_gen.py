"""Generate docs/layers.md from the layer catalog, so the reference cannot drift from the code.

Run `python -m builder.docs_gen` after changing the catalog; tests/test_docs_gen.py fails while
the committed file differs from what this produces.
"""
from collections.abc import Iterable
from pathlib import Path

from builder.catalog import CATALOG, CATEGORIES, LayerSpec
from builder.params import DTYPES, ParamSpec

LAYERS_MD = Path(__file__).resolve().parents[1] / "docs" / "layers.md"

HEADER = """\
# Layer reference

Every node type the canvas offers, grouped as in the palette. Node `type` and parameter names
follow the `torch.nn` class and its constructor wherever one exists. Sizes marked *inferred*
follow from the incoming shape and may be left out. Shapes are per sample (no batch dimension);
sequence layers are batch-first.

*Generated from the layer catalog by `python -m builder.docs_gen`; do not edit by hand.*
"""

DTYPE_WORDS = {"float": "float tensors", "long": "integer token ids (dtype long)",
               "any": "any dtype (passed through)"}


def render(specs: Iterable[LayerSpec]) -> str:
    """The whole markdown page for `specs`, categories in palette order, types A-Z within one."""
    by_category = {category: [] for category in CATEGORIES}
    for spec in sorted(specs, key=lambda s: s.type):
        by_category[spec.category].append(spec)
    used = {category: members for category, members in by_category.items() if members}
    parts = [HEADER, "## Contents\n", *(_contents_line(c, m) for c, m in used.items()), ""]
    for category, members in used.items():
        parts.append(f"## {category}\n")
        parts.extend(_layer_section(spec) for spec in members)
    return "\n".join(parts).rstrip("\n") + "\n"


def _contents_line(category: str, members: list[LayerSpec]) -> str:
    links = ", ".join(f"[{s.type}](#{s.type.lower()})" for s in members)
    return f"- **{category}**: {links}"


def _layer_section(spec: LayerSpec) -> str:
    lines = [f"### {spec.type}\n", _cell(spec.doc), "", f"Inputs: {_inputs_text(spec)}.", ""]
    if spec.params:
        lines += ["| parameter | kind | default | allowed | description |",
                  "| --- | --- | --- | --- | --- |"]
        lines += [_param_row(p) for p in spec.params]
    else:
        lines.append("No parameters.")
    return "\n".join(lines) + "\n"


def _inputs_text(spec: LayerSpec) -> str:
    dtype = DTYPE_WORDS[spec.accepts]
    if not spec.ports and spec.min_inputs == 0:
        return "none (a graph entry point)"
    if spec.variadic:
        return f"{spec.min_inputs} or more, ordered by edge port; {dtype}"
    required, optional = spec.ports[:spec.min_inputs], spec.ports[spec.min_inputs:]
    text = ", ".join(f"`{port}` (port {i})" for i, port in enumerate(required))
    if optional:
        start = len(required)
        text += "; optional " + ", ".join(
            f"`{port}` (port {start + i})" for i, port in enumerate(optional))
    text += f"; {dtype}"
    start = len(spec.ports)
    for i, port in enumerate(spec.token_ports):
        text += f"; optional `{port}` (port {start + i}): {DTYPE_WORDS['long']}"
    return text


def _param_row(param: ParamSpec) -> str:
    default = "*inferred*" if param.inferred else _value(param.default)
    cells = [f"`{param.name}`", param.kind, default, _allowed(param), _cell(param.doc)]
    return "| " + " | ".join(cells) + " |"


def _allowed(param: ParamSpec) -> str:
    if param.kind == "dtype":
        return " or ".join(_value(dtype) for dtype in DTYPES)
    parts = []
    each = "each " if param.kind in ("ints", "shape") else ""  # bounds apply per list entry
    if param.min is not None and param.max is not None:
        parts.append(f"{each}{_value(param.min)} to {_value(param.max)}")
    elif param.min is not None:
        parts.append(f"{each}>= {_value(param.min)}")
    elif param.max is not None:
        parts.append(f"{each}<= {_value(param.max)}")
    if param.choices:
        # an "ints" param (padding) takes numbers and, besides them, a few named strings ("same")
        lead = "or one of " if param.kind == "ints" else "one of "
        parts.append(lead + ", ".join(_value(c) for c in param.choices))
    return "; ".join(parts) or "any"


def _value(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return f"`{value}`"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v).strip("`") for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    """Keep free text inside one markdown table cell or paragraph."""
    return " ".join(text.split()).replace("|", "\\|")


def main() -> None:
    LAYERS_MD.write_text(render(CATALOG.values()), encoding="utf-8")
    print(f"wrote {LAYERS_MD} ({len(CATALOG)} layer types)")


if __name__ == "__main__":
    main()
