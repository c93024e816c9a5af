"""Import a model from another tool into an editable LayerLoom graph: `import_model(path)`.

ONNX (`.onnx`) and torch.export (`.pt2`) files are parsed as data, never unpickled or run; the
result is an ImportResult (graph dict, state dict, report). Source operations with no catalog
layer are reported by name and place and leave a gap in the graph rather than failing the import.
"""
from pathlib import Path

from builder.importers.onnx_import import import_onnx
from builder.importers.pt2_import import import_pt2
from builder.importers.report import ImportRefused, ImportResult, Unmapped

__all__ = ["import_model", "import_onnx", "import_pt2", "ImportRefused", "ImportResult", "Unmapped"]

FORMATS = {".onnx": import_onnx, ".pt2": import_pt2}


def import_model(path: str | Path) -> ImportResult:
    """Pick the reader by extension (.onnx, .pt2); an unknown extension is sniffed: a zip is a .pt2."""
    path = Path(path)
    if not path.is_file():
        raise ImportRefused(f"{path} is not a file")
    reader = FORMATS.get(path.suffix.lower())
    if reader is None:
        with path.open("rb") as file:
            reader = import_pt2 if file.read(2) == b"PK" else import_onnx
    return reader(path)
