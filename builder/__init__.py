"""LayerLoom builder: the graph format, the layer catalog, validation with shape inference,
compilation to nn.Module and export to Python. Pure Python + torch (no Streamlit)."""
from builder.catalog import CATALOG, CATEGORIES, LayerSpec, catalog_json
from builder.codegen import to_python_code
from builder.compile import GraphModule, compile_graph
from builder.components import split_components
from builder.fixes import apply_fix, new_node_id
from builder.inference import validate
from builder.params import ParamSpec
from builder.report import Fix, NodeInfo, Problem, Report
from builder.spec import Edge, Graph, GraphError, Node, load_graph, save_graph

__all__ = ["CATALOG", "CATEGORIES", "Edge", "Fix", "Graph", "GraphError", "GraphModule",
           "LayerSpec", "Node", "NodeInfo", "ParamSpec", "Problem", "Report", "apply_fix",
           "catalog_json", "compile_graph", "load_graph", "new_node_id", "save_graph",
           "split_components", "to_python_code", "validate"]
