"""Importing nn.Module Python code: traced in a limited child process, imported from the .pt2 it
writes; errors name the person's line or the shape; loops and memory bombs are stopped; the gate."""
import pytest
import torch

from builder import compile_graph
from builder.importers import ImportRefused
from builder.importers.code_import import code_import_refusal, import_code, parse_input_shapes

torch.set_num_threads(1)

CNN = '''import torch
from torch import nn


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(3)
        self.features = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(8 * 13 * 13, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))
'''


def _twin():
    namespace = {}
    exec(compile(CNN, "cnn.py", "exec"), namespace)
    return namespace["SmallCNN"]().eval()


def test_pasted_cnn_imports_with_its_weights():
    result = import_code(CNN, "1, 28, 28", name="cnn.py")
    assert result.complete and result.weights_carried, result.to_text()
    assert result.source == "cnn.py" and result.graph["name"] == "cnn"
    twin = _twin()
    assert set(result.state_dict) == set(twin.state_dict())  # features.0.weight, fc.bias, ...
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(imported(x), twin(x))


def test_code_that_raises_names_its_line():
    code = "import torch\n\nsize = 3\nraise ValueError('no data here')\n"
    with pytest.raises(ImportRefused, match=r"line 4 of your code: ValueError: no data here"):
        import_code(code, "3")


def test_a_wrong_input_shape_names_the_forward_line_and_the_shape():
    with pytest.raises(ImportRefused) as refused:
        import_code(CNN, "3, 28, 28")
    message = str(refused.value)
    assert message.startswith("line 13 of your code: RuntimeError:") and "3 channels" in message
    assert "inputs of shape (3, 28, 28); check the input shapes" in message


def test_a_loop_that_never_ends_is_stopped():
    with pytest.raises(ImportRefused, match=r"ran longer than 20 s|more than 5 s of CPU time"):
        import_code("while True:\n    pass\n", "3", cpu_s=5, timeout_s=20)


def test_too_much_memory_is_stopped_with_the_line_and_the_limit():
    code = "import torch\n\nbig = torch.zeros(10**11)\n"
    with pytest.raises(ImportRefused, match=r"line 3 of your code: .*allocate.*at most 256 MB"):
        import_code(code, "3", memory_mb=256)


def test_class_that_needs_arguments_says_how_to_give_them():
    code = ("from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self, width):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, width)\n")
    with pytest.raises(ImportRefused, match=r"end your code with `model = Net\(\.\.\.\)`"):
        import_code(code, "4")


@pytest.mark.parametrize("text,message", [("", "give the shape"), ("3, -2", "input shape 1"),
                                          ("3; a, b", "input shape 2")])
def test_bad_input_shapes_are_named(text, message):
    with pytest.raises(ImportRefused, match=message):
        parse_input_shapes(text)


def test_input_shapes_read_several_inputs_and_token_ids():
    assert parse_input_shapes("3x32x32; 12 long") == [([3, 32, 32], "float"), ([12], "long")]


def test_the_gate_is_off_on_a_shared_server_and_on_for_a_local_start():
    assert "off on a shared server" in code_import_refusal({}, None)  # streamlit's default: all
    assert code_import_refusal({}, "0.0.0.0") is not None
    assert code_import_refusal({}, "localhost") is None
    assert code_import_refusal({"LAYERLOOM_CODE_IMPORT": "on"}, "0.0.0.0") is None
    assert "turned off" in code_import_refusal({"LAYERLOOM_CODE_IMPORT": "off"}, "localhost")
    assert "must be on, off or auto" in code_import_refusal({"LAYERLOOM_CODE_IMPORT": "yes"}, None)


def test_the_model_is_the_class_named_or_the_variable_model():
    code = ("from torch import nn\n\nclass Net(nn.Module):\n    def __init__(self, width):\n"
            "        super().__init__()\n        self.fc = nn.Linear(4, width)\n\n"
            "    def forward(self, x):\n        return self.fc(x)\n\n"
            "class Other(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
            "        self.out = nn.Linear(4, 2)\n\n    def forward(self, x):\n"
            "        return self.out(x)\n\nmodel = Net(width=6)\n")
    assert [n["id"] for n in import_code(code, "4").graph["nodes"]] == ["x", "fc"]
    assert [n["id"] for n in import_code(code, "4", class_name="Other").graph["nodes"]] == \
        ["x", "out"]
    with pytest.raises(ImportRefused, match="defines no nn.Module class named 'Missing'"):
        import_code(code, "4", class_name="Missing")
