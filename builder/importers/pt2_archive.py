"""Read a torch.export `.pt2` archive as data: a zip of JSON (the program) and raw tensor bytes.

Nothing in it is unpickled: `torch.load`/`torch.export.load` are never called, the pickled
`sample_inputs` member is never opened, and a weight the archive stores as a pickle is left out.
Every member's unpacked size is checked against its limit before it is read (zip bombs).
"""
import json
import zipfile
from pathlib import Path

import torch

from builder.importers.limits import MAX_FILE_BYTES, MAX_METADATA_BYTES, check_weight_elements
from builder.importers.report import ImportRefused

MAX_MEMBERS = 10_000
# torch/_export/serde/schema.py ScalarType codes of the dtypes a LayerLoom layer can hold
DTYPES = {5: torch.int64, 6: torch.float16, 7: torch.float32, 8: torch.float64, 12: torch.bool,
          13: torch.bfloat16}  # bool: a mask buffer


class Pt2Archive:
    def __init__(self, path: str | Path):
        self.name = Path(path).name
        try:
            self.zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ImportRefused(f"{self.name} is not a .pt2 archive (not a zip file)") from exc
        members = self.zip.infolist()
        if len(members) > MAX_MEMBERS:
            raise ImportRefused(f"{self.name} has {len(members):,} files; a .pt2 has a few dozen")
        total = sum(m.file_size for m in members)
        if total > MAX_FILE_BYTES:
            raise ImportRefused(f"{self.name} unpacks to {total / 2**20:,.0f} MB, more than the "
                                f"{MAX_FILE_BYTES / 2**20:,.0f} MB allowed (a zip bomb?)")
        self.sizes = {m.filename: m.file_size for m in members}
        programs = [n for n in self.sizes if n.endswith("models/model.json")]
        if not programs:
            raise ImportRefused(f"{self.name} has no models/model.json: not a torch.export "
                                "archive (or one from a torch older than 2.6)")
        self.prefix = programs[0][: -len("models/model.json")]
        self.program = self.json("models/model.json")
        self.weights_config = self.json("data/weights/model_weights_config.json", {}).get("config", {})

    def json(self, member: str, default=None):
        name = self.prefix + member
        if name not in self.sizes:
            if default is not None:
                return default
            raise ImportRefused(f"{self.name} has no {member}")
        if self.sizes[name] > MAX_METADATA_BYTES:
            raise ImportRefused(f"{self.name}: {member} is {self.sizes[name] / 2**20:,.0f} MB, "
                                f"above the {MAX_METADATA_BYTES / 2**20:,.0f} MB allowed")
        try:
            return json.loads(self.zip.read(name))
        except (ValueError, zipfile.BadZipFile) as exc:
            raise ImportRefused(f"{self.name}: {member} is not valid JSON ({exc})") from exc

    def weight(self, key: str) -> torch.Tensor | str:
        """The tensor stored under the state-dict key, or a sentence saying why it is not read."""
        entry = self.weights_config.get(key)
        if entry is None:
            return f"{key} is not in the archive's weights"
        if entry.get("use_pickle"):
            return f"{key} is stored as a pickle, which LayerLoom never loads"
        meta = entry["tensor_meta"]
        dtype = DTYPES.get(meta.get("dtype"))
        if dtype is None:
            return f"{key} has dtype code {meta.get('dtype')}, which no LayerLoom layer holds"
        sizes = [_int(s) for s in meta["sizes"]]
        strides = [_int(s) for s in meta["strides"]]
        check_weight_elements(f"{self.name}: weight {key}", sizes)
        member = f"{self.prefix}data/weights/{entry['path_name']}"
        if member not in self.sizes:
            return f"{key}'s bytes ({entry['path_name']}) are missing"
        raw = bytearray(self.zip.read(member))
        try:
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            return torch.as_strided(flat, sizes, strides, _int(meta["storage_offset"])).clone()
        except (RuntimeError, ValueError) as exc:  # sizes/strides outside the stored bytes
            return f"{key}'s bytes do not match its shape {sizes} ({type(exc).__name__})"


def _int(value: dict) -> int:
    if "as_int" not in value:
        raise ImportRefused(f"a stored weight has a symbolic size {value}")
    return int(value["as_int"])
