"""Opaque nodes: an imported operation with no catalog layer keeps its shape, and computes when
it is one of the listed torch functions."""
import pytest
import torch

from builder import GraphError, compile_graph, to_python_code, validate


def _graph(opaque_params: dict, shape=(3, 4)) -> dict:
    return {"version": 1, "name": "opaque", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": list(shape)}},
        {"id": "mix", "type": "Opaque", "params": opaque_params},
        {"id": "fc", "type": "Linear", "params": {"out_features": 2}}],
        "edges": [{"source": "x", "target": "mix"}, {"source": "mix", "target": "fc"}]}


def test_listed_operation_infers_its_shape_and_computes_like_torch():
    graph = _graph({"op": "sum", "source_op": "aten.sum.dim_IntList", "dims": [1]})
    report = validate(graph)
    assert report.valid, report.problems
    assert report.nodes["mix"].output_shape == (4,)
    model = compile_graph(graph).eval()
    x = torch.randn(5, 3, 4)
    torch.testing.assert_close(model.node_module("mix")(x), x.sum(1))
    namespace = {}
    exec(to_python_code(graph), namespace)  # the exported file computes it too
    exported = namespace["Opaque_"]() if "Opaque_" in namespace else namespace["OpaqueModel"]()
    exported.load_state_dict(model.state_dict())
    torch.testing.assert_close(exported(x), model(x))


def test_unlisted_operation_keeps_the_recorded_shape_and_refuses_to_compile():
    graph = _graph({"op": "aten.unfold.default", "source_op": "aten.unfold.default",
                    "output_shape": [6]})
    report = validate(graph)
    assert report.valid and report.nodes["fc"].input_shapes == ((6,),)
    with pytest.raises(GraphError, match="keeps aten.unfold.default from an imported model, "
                                         "which LayerLoom cannot compute"):
        compile_graph(graph)


def test_opaque_operation_that_drops_the_batch_is_a_problem_on_the_node():
    report = validate(_graph({"op": "sum", "dims": [0]}))
    assert not report.valid and report.problems[0].node == "mix"
    assert "keep the batch dimension" in report.problems[0].message


def test_opaque_op_text_is_only_ever_a_name(tmp_path):
    """`op` selects an entry of Opaque.OPS; code-like text stays a string in the exported file
    and a line break is refused."""
    marker = tmp_path / "ran"
    sneaky = f"x'); open({str(marker)!r}, 'w'); ('"
    graph = _graph({"op": sneaky, "output_shape": [3, 4]})
    assert validate(graph).valid
    namespace = {}
    exec(to_python_code(graph), namespace)
    model = next(v for k, v in namespace.items() if k.startswith("Opaque") and k != "Opaque")()
    assert model.mix.op == sneaky and not marker.exists()
    with pytest.raises(NotImplementedError, match="cannot be computed here"):
        model(torch.randn(1, 3, 4))
    problems = validate(_graph({"op": "exp\nimport os", "output_shape": [3, 4]})).problems
    assert problems and problems[0].field == "op"
