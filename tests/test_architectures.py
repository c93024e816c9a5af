"""Published architectures built as LayerLoom graphs compute exactly what their plain-PyTorch
twins compute: MobileNetV2 (ReLU6, depthwise convolutions), ResNet-18 and a GPT-style decoder
(causal attention, learned positions)."""
import pytest
import torch

from builder import compile_graph, to_python_code, validate
from tests import reference_graphs, reference_models
from tests.test_builder_codegen import load_module

torch.set_num_threads(1)


def paired(compiled: torch.nn.Module, reference: torch.nn.Module) -> None:
    """Copy compiled's weights into the twin. Both create their layers in the same order, so the
    state dicts pair up by position; every pair must agree in shape (and the counts match)."""
    ours, theirs = compiled.state_dict(), reference.state_dict()
    assert len(ours) == len(theirs)
    for (name, value), (ref_name, ref_value) in zip(ours.items(), theirs.items()):
        assert value.shape == ref_value.shape, (name, ref_name)
    reference.load_state_dict(dict(zip(theirs, ours.values())))


# (graph builder, twin, published parameter count, input shape for the output check)
ARCHITECTURES = {
    "mobilenet_v2": (reference_graphs.mobilenet_v2, reference_models.MobileNetV2, 3_504_872,
                     (3, 64, 64)),
    "resnet18": (reference_graphs.resnet18, reference_models.ResNet18, 11_689_512, (3, 64, 64)),
}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_parameter_count_equals_the_published_one_and_the_twin(name):
    make_graph, make_twin, published, _ = ARCHITECTURES[name]
    report = validate(make_graph())
    assert report.valid, report.problems
    assert report.total_params == published
    assert sum(p.numel() for p in make_twin().parameters()) == published
    assert report.nodes["fc"].output_shape == (1000,)


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_outputs_equal_the_twin_in_eval_and_train_mode(name):
    make_graph, make_twin, _, shape = ARCHITECTURES[name]
    torch.manual_seed(0)
    graph = make_graph(num_classes=10, size=shape[-1])
    compiled, reference = compile_graph(graph), make_twin(num_classes=10)
    paired(compiled, reference)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.equal(compiled.eval()(x), reference.eval()(x))
        torch.manual_seed(1)
        train_out = compiled.train()(x)  # batch statistics; dropout draws the same mask
        torch.manual_seed(1)
        assert torch.equal(train_out, reference.train()(x))


def _gpt_pair():
    torch.manual_seed(0)
    compiled, reference = compile_graph(reference_graphs.gpt()), reference_models.GPT()
    paired(compiled, reference)
    return compiled.eval(), reference.eval()


def test_gpt_decoder_equals_its_twin_and_its_exported_file(tmp_path):
    compiled, reference = _gpt_pair()
    assert validate(reference_graphs.gpt()).total_params == sum(
        p.numel() for p in reference.parameters())
    tokens = torch.randint(0, 50, (3, 12))
    exported = load_module(to_python_code(reference_graphs.gpt(), class_name="Exported"),
                           tmp_path / "gpt.py").Exported().eval()
    exported.load_state_dict(compiled.state_dict())
    with torch.no_grad():
        out = compiled(tokens)
        torch.testing.assert_close(out, reference(tokens), rtol=0, atol=0)
        torch.testing.assert_close(exported(tokens), out, rtol=0, atol=0)


def test_gpt_output_at_step_t_never_depends_on_later_tokens():
    compiled, _ = _gpt_pair()
    tokens = torch.randint(0, 50, (4, 12))
    with torch.no_grad():
        out = compiled(tokens)
        for t in (0, 5, 10):
            changed = tokens.clone()
            changed[:, t + 1:] = torch.randint(0, 50, (4, 11 - t))
            changed_out = compiled(changed)
            assert torch.equal(changed_out[:, :t + 1], out[:, :t + 1]), t
            assert not torch.allclose(changed_out[:, t + 1:], out[:, t + 1:]), t


def test_gpt_decoder_exports_to_pt2_with_its_causal_mask(tmp_path):
    from builder.export import export_pt2
    compiled, _ = _gpt_pair()
    exported = torch.export.load(str(export_pt2(reference_graphs.gpt(), tmp_path / "g.pt2")))
    exported = exported.module()
    exported.load_state_dict(compiled.state_dict())
    tokens = torch.randint(0, 50, (5, 12))
    with torch.no_grad():
        torch.testing.assert_close(exported(tokens), compiled(tokens))


def test_inspect_attention_maps_of_the_causal_decoder_never_look_ahead():
    from trainers.probes.attention import attention_maps
    compiled, _ = _gpt_pair()
    maps = attention_maps(compiled, (torch.randint(0, 50, (2, 12)),))
    assert set(maps) == {"h0_attn", "h1_attn"}
    for weights in maps.values():  # (heads, target, source)
        assert weights.shape == (4, 12, 12)
        torch.testing.assert_close(weights.sum(-1), torch.ones(4, 12))
        assert torch.all(weights.triu(1) == 0)


def test_vision_transformer_with_class_token_and_transpose_equals_its_twin():
    torch.manual_seed(0)
    compiled, twin = compile_graph(reference_graphs.vit()).eval(), reference_models.ViT().eval()
    names = {"patch": "conv_proj", "cls.weight": "class_token", "pos.weight": "pos_embedding",
             "encoder": "encoder", "head": "head"}
    theirs = {}
    for key, value in compiled.state_dict().items():
        prefix = next(p for p in names if key == p or key.startswith(p + "."))
        theirs[names[prefix] + key[len(prefix):]] = value
    twin.load_state_dict(theirs)  # strict: every twin tensor has its graph counterpart
    assert validate(reference_graphs.vit()).total_params == sum(
        p.numel() for p in twin.parameters())
    x = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), twin(x), rtol=0, atol=0)
