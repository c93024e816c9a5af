"""compile_graph: a real nn.Module with node-named submodules, several inputs and outputs,
the VAE's KL term, pickling, and split_components for GAN pairs."""
import copy
import pickle

import pytest
import torch

from builder import GraphError, compile_graph, split_components, validate

torch.set_num_threads(1)


def graph(nodes, edges, name="g"):
    return {"name": name, "nodes": [{"id": i, "type": t, "params": p} for i, t, p in nodes],
            "edges": [{"source": s, "target": t, "port": port} for s, t, port in edges]}


TWO_IN_TWO_OUT = graph(
    [("b", "Input", {"shape": [3]}), ("a", "Input", {"shape": [2]}),
     ("cat", "Concat", {}), ("head 1", "Linear", {"out_features": 4}),
     ("Ω", "Linear", {"out_features": 1})],
    [("a", "cat", 0), ("b", "cat", 1), ("cat", "head 1", 0), ("cat", "Ω", 0)])


def test_inputs_in_node_order_and_outputs_as_a_tuple():
    model = compile_graph(TWO_IN_TWO_OUT)
    assert model.input_ids == ["b", "a"] and model.output_ids == ["head 1", "Ω"]
    b, a = torch.randn(5, 3), torch.randn(5, 2)
    out_head, out_omega = model(b, a)
    joined = torch.cat([a, b], dim=1)  # Concat orders its inputs by port: a, then b
    torch.testing.assert_close(out_head, model.node_module("head 1")(joined))
    assert out_omega.shape == (5, 1)


def test_state_dict_keys_are_the_sanitised_node_ids():
    keys = set(compile_graph(TWO_IN_TWO_OUT).state_dict())
    assert keys == {"head_1.weight", "head_1.bias", "u3a9.weight", "u3a9.bias"}


def test_explicit_output_node_selects_the_outputs():
    g = graph([("x", "Input", {"shape": [3]}), ("h", "Linear", {"out_features": 2}),
               ("side", "ReLU", {}), ("out", "Output", {})],
              [("x", "h", 0), ("h", "side", 0), ("h", "out", 0)])
    model = compile_graph(g)
    assert model.output_ids == ["out"] and model(torch.randn(4, 3)).shape == (4, 2)


def test_invalid_graph_raises_one_error_listing_every_problem():
    g = graph([("x", "Input", {"shape": [3]}), ("a", "Linear", {"out_features": 0}),
               ("b", "Nope", {})], [("x", "a", 0), ("a", "b", 0)])
    with pytest.raises(GraphError) as err:
        compile_graph(g)
    assert {p.node for p in err.value.problems} == {"a", "b"}


def test_parameter_budget_is_checked_before_allocating():
    g = graph([("x", "Input", {"shape": [10 ** 6]}), ("fc", "Linear", {"out_features": 10 ** 6})],
              [("x", "fc", 0)])
    with pytest.raises(GraphError, match="1,000,001,000,000 parameters"):
        compile_graph(g, max_params=10 ** 7)


def test_sequence_layers_are_batch_first_and_attention_defaults_to_self_attention():
    g = graph([("x", "Input", {"shape": [6, 4]}), ("rnn", "GRU", {"hidden_size": 8}),
               ("att", "MultiheadAttention", {"num_heads": 2}), ("last", "SelectTimestep", {})],
              [("x", "rnn", 0), ("rnn", "att", 0), ("att", "last", 0)])
    model = compile_graph(g).eval()
    x = torch.randn(3, 6, 4)
    sequence, _ = model.node_module("rnn")(x)
    attended, _ = model.node_module("att")(sequence, sequence, sequence)
    torch.testing.assert_close(model(x), attended[:, -1])


VAE = graph([("x", "Input", {"shape": [4]}), ("mu", "Linear", {"out_features": 2}),
             ("logvar", "Linear", {"out_features": 2}), ("z", "Reparameterize", {}),
             ("dec", "Linear", {"out_features": 4})],
            [("x", "mu", 0), ("x", "logvar", 0), ("mu", "z", 0), ("logvar", "z", 1),
             ("z", "dec", 0)])


def test_aux_loss_is_the_kl_term_of_the_last_forward():
    model = compile_graph(VAE)
    assert model.aux_loss().item() == 0.0
    x = torch.randn(8, 4)
    model(x)
    mu, logvar = model.node_module("mu")(x), model.node_module("logvar")(x)
    expected = -0.5 * torch.sum(1 + logvar - mu ** 2 - logvar.exp()) / 8
    torch.testing.assert_close(model.aux_loss(), expected)
    model.aux_loss().backward()  # differentiable: it trains the encoder
    assert model.node_module("mu").weight.grad is not None


def test_reparameterize_samples_in_training_and_returns_mu_in_eval():
    model = compile_graph(VAE)
    x = torch.randn(8, 4)
    assert not torch.equal(model(x), model(x))
    model.eval()
    torch.testing.assert_close(model(x), model.node_module("dec")(model.node_module("mu")(x)))


def test_deepcopy_and_pickle_keep_weights_and_behaviour():
    model = compile_graph(TWO_IN_TWO_OUT).eval()
    inputs = (torch.randn(2, 3), torch.randn(2, 2))
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        assert not clone.training and clone.graph == model.graph
        for mine, theirs in zip(model(*inputs), clone(*inputs)):
            torch.testing.assert_close(mine, theirs)


def test_split_components_separates_a_gan_pair():
    g = graph([("z", "Input", {"shape": [4]}), ("gen", "Linear", {"out_features": 6}),
               ("image", "Input", {"shape": [6]}), ("disc", "Linear", {"out_features": 1})],
              [("z", "gen", 0), ("image", "disc", 0)], name="gan")
    g["layout"] = {"gen": {"x": 0, "y": 0}, "disc": {"x": 5, "y": 5}}
    generator, discriminator = split_components(g)
    assert [n.id for n in generator.nodes] == ["z", "gen"] and generator.name == "gan/z"
    assert [n.id for n in discriminator.nodes] == ["image", "disc"]
    assert list(discriminator.layout) == ["disc"]
    assert validate(generator).valid and validate(discriminator).valid


def test_split_parts_keep_the_whole_graphs_state_dict_keys():
    g = graph([("z", "Input", {"shape": [4]}), ("生成", "Linear", {"out_features": 6}),
               ("image", "Input", {"shape": [6]}), ("判别", "Linear", {"out_features": 1})],
              [("z", "生成", 0), ("image", "判别", 0)])
    parts = [set(compile_graph(part).state_dict()) for part in split_components(g)]
    assert parts[0] | parts[1] == set(compile_graph(g).state_dict())
    assert not parts[0] & parts[1]
