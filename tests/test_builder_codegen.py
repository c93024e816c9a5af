"""to_python_code: a standalone file that, with the same state_dict, computes exactly what
compile_graph computes, for every layer type in the catalog."""
import importlib.util
import subprocess
import sys

import pytest
import torch

from builder import GraphError, compile_graph, to_python_code
from tests.test_builder_compile import TWO_IN_TWO_OUT, VAE
from tests.test_builder_inference import CASES, _graph, _sample_input

torch.set_num_threads(1)


def load_module(code: str, path):
    path.write_text(code)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("layer_type,params,shapes,dtype", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_exported_file_matches_the_compiled_model(layer_type, params, shapes, dtype, tmp_path):
    graph = _graph(layer_type, params, shapes, dtype)
    compiled = compile_graph(graph).eval()
    exported_module = load_module(to_python_code(graph, class_name="Exported"), tmp_path / "m.py")
    exported = exported_module.Exported().eval()
    exported.load_state_dict(compiled.state_dict())  # strict: the keys are identical
    inputs = [_sample_input(s, dtype) for s in shapes] or [torch.randn(2, 4, 2)]
    with torch.no_grad():
        torch.testing.assert_close(exported(*inputs), compiled(*inputs), rtol=0, atol=0)


def test_file_is_readable_and_standalone(tmp_path):
    code = to_python_code(TWO_IN_TWO_OUT)
    imports = [line for line in code.splitlines() if line.startswith(("import ", "from "))]
    assert imports == ["import torch", "from torch import nn"]
    assert "class G(nn.Module):" in code and "class Concat(nn.Module):" in code
    assert "def forward(self, b, a):" in code
    assert "        cat = self.cat(a, b)" in code and "# (N, 5)" in code
    assert "        return head_1, u3a9\n" in code
    forward = code.split("def forward(self, b, a):")[1].split("return")[0]
    assert forward.count(" = self.") == 5  # one line per node


def test_file_runs_as_a_script(tmp_path):
    path = tmp_path / "vae.py"
    path.write_text(to_python_code(VAE))
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tensor(")


def test_exporting_an_invalid_graph_lists_its_problems():
    with pytest.raises(GraphError, match="node 'b'"):
        to_python_code({"nodes": [{"id": "x", "type": "Input", "params": {"shape": [2]}},
                                  {"id": "b", "type": "Linear", "params": {"bias": 3}}],
                        "edges": [{"source": "x", "target": "b"}]})


def test_graph_name_cannot_inject_code():
    hostile = dict(VAE, name='x"""\nraise SystemExit("injected")\n"""\\')
    model = compile_graph(hostile)
    assert "injected" in type(model).__doc__ and "raise" in to_python_code(hostile)
    compile(to_python_code(hostile), "exported.py", "exec")  # still valid Python
