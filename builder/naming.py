"""The one place that turns node ids into Python identifiers.

Compiled modules and exported files name each node's submodule (and its state_dict keys) with
these names, so both must come from here. Ids may be anything a user types ("conv 1", "Ω",
"a/b"); names are ASCII identifiers, never a keyword or an nn.Module attribute, and unique:
clashes get _2, _3 ... in node order, without taking another node's own name.
"""
import keyword
import re
import unicodedata

from torch import fx, nn

# What the generated class and its forward already use: nn.Module's attributes (`training` is
# set per instance), GraphModule's, and the names the generated file imports. Builtins may be
# shadowed: forward's locals never call them. torch.export rebuilds the model as a
# torch.fx.GraphModule, so its attributes (`code`, `graph`, `recompile`, ...) are taken too.
_RESERVED = (set(dir(nn.Module)) | set(dir(fx.GraphModule)) | set(keyword.kwlist)
             | {"training", "graph", "report", "input_ids", "output_ids", "node_module",
                "aux_loss", "self", "torch", "nn"})


def attr_name(node_id: str) -> str:
    """A valid, safe identifier for one node id (before de-duplication)."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", _ascii(node_id)).strip("_")
    if not name or name[0].isdigit():
        name = f"n_{name}" if name else "node"
    return f"{name}_" if name in _RESERVED else name


def _ascii(text: str) -> str:
    """Accents are dropped (Café -> Cafe); other letters become their code point (卷积 ->
    u5377u79ef), so ids in any script stay distinct instead of collapsing to one name."""
    out = []
    for char in unicodedata.normalize("NFKD", text):
        if char.isascii():
            out.append(char)
        elif char.isalnum():
            out.append(f"u{ord(char):x}")
        elif not unicodedata.combining(char):
            out.append("_")
    return "".join(out)


def attr_names(node_ids: list[str]) -> dict[str, str]:
    """Unique identifiers for all ids of a graph, deterministic in node order."""
    bases = [attr_name(node_id) for node_id in node_ids]
    natural = set(bases)
    taken: set[str] = set()
    names = {}
    for node_id, base in zip(node_ids, bases):
        name, k = base, 2
        while name in taken or (name != base and name in natural):
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        names[node_id] = name
    return names


def printable(text: str) -> str:
    """Text safe for a terminal: control characters (ANSI escapes, newlines) shown as escapes."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def is_class_name(name: str) -> bool:
    """Whether `name` can name the exported class: an ASCII identifier nothing else uses."""
    return (name.isascii() and name.isidentifier() and not keyword.iskeyword(name)
            and name not in _RESERVED)


def class_name(graph_name: str) -> str:
    """'my lenet-5' -> 'MyLenet5'; a name for the generated nn.Module class."""
    words = re.findall(r"[0-9A-Za-z]+", _ascii(graph_name))
    name = "".join(w[:1].upper() + w[1:] for w in words)
    if not name or name[0].isdigit():
        name = "Model" + name
    return name if name not in _RESERVED else name + "Model"
