"""docs/layers.md is generated from the catalog and must not drift from it."""
from builder.catalog import CATALOG, LayerSpec
from builder.docs_gen import LAYERS_MD, render
from builder.params import ParamSpec


def test_committed_layer_reference_matches_the_catalog():
    assert LAYERS_MD.read_text(encoding="utf-8") == render(CATALOG.values()), (
        "docs/layers.md is stale: run `python -m builder.docs_gen` and commit the result")


def test_every_layer_type_has_a_section_in_its_category():
    text = render(CATALOG.values())
    for spec in CATALOG.values():
        section = text.index(f"\n### {spec.type}\n")
        category = text.rindex("\n## ", 0, section)
        assert text[category:].startswith(f"\n## {spec.category}\n"), spec.type


def test_param_rows_show_kind_default_bounds_and_escape_pipes():
    spec = LayerSpec(type="Fake", category="Dense", doc="A | B.", shape=lambda call: call.shape,
                     params=(ParamSpec("width", "int", 4, "Units | neurons.", min=1, max=64),
                             ParamSpec("in_size", "int", None, "From input.", min=1, inferred=True),
                             ParamSpec("padding", "ints", 0, "Pad.", min=0, choices=("same",)),
                             ParamSpec("dtype", "dtype", "float", "Kind.")))
    text = render([spec])
    assert "A \\| B." in text
    assert "| `width` | int | 4 | 1 to 64 | Units \\| neurons. |" in text
    assert "| `in_size` | int | *inferred* | >= 1 | From input. |" in text
    assert "| `padding` | ints | 0 | each >= 0; or one of `same` | Pad. |" in text
    assert "| `dtype` | dtype | `float` | `float` or `long` | Kind. |" in text
    assert "Inputs: `input` (port 0); float tensors." in text
