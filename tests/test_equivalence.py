"""A compiled template computes exactly what the same network written by hand computes."""
import pytest
import torch

from builder import compile_graph
from builder.templates import load_template
from tests.reference_models import SeedCNN, SeedLSTM, SmallResNet

CASES = [("cnn_seed", SeedCNN, (1, 28, 28)),
         ("lstm_seed", SeedLSTM, (20, 100)),
         ("resnet_small", SmallResNet, (1, 28, 28))]


def twins(name, reference_class):
    """The compiled template and its hand-written twin holding the very same weights."""
    torch.manual_seed(0)
    compiled = compile_graph(load_template(name))
    reference = reference_class()
    # strict: every compiled parameter and buffer has a hand-written counterpart, and vice versa
    reference.load_state_dict(compiled.state_dict(), strict=True)
    return compiled, reference


@pytest.mark.parametrize("name, reference_class, sample_shape", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_outputs_and_gradients_are_identical(name, reference_class, sample_shape, mode):
    compiled, reference = twins(name, reference_class)
    compiled.train(mode == "train")
    reference.train(mode == "train")
    x = torch.randn(4, *sample_shape)

    out_compiled, out_reference = compiled(x), reference(x)
    assert torch.equal(out_compiled, out_reference)

    out_compiled.square().sum().backward()
    out_reference.square().sum().backward()
    reference_grads = dict(reference.named_parameters())
    for param_name, param in compiled.named_parameters():
        assert torch.equal(param.grad, reference_grads[param_name].grad), param_name


def test_training_mode_batch_norm_updates_the_same_running_statistics():
    compiled, reference = twins("resnet_small", SmallResNet)
    x = torch.randn(8, 1, 28, 28)
    compiled.train()(x)
    reference.train()(x)
    reference_state = reference.state_dict()
    for key, value in compiled.state_dict().items():
        assert torch.equal(value, reference_state[key]), key
