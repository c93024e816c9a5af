"""The layer catalog. Importing this package registers every layer type in CATALOG."""
from builder.catalog import (activations, attention, conv, dense, graph_ops,  # noqa: F401
                             imported, learned, normalization, pooling, recurrent, reshape)
from builder.catalog.registry import (CATALOG, CATEGORIES, LayerSpec, NodeCall, ShapeError,
                                      catalog_json)

__all__ = ["CATALOG", "CATEGORIES", "LayerSpec", "NodeCall", "ShapeError", "catalog_json"]
