"""Weight tying (issue 15): a Linear whose tie_weight names an Embedding reuses its table, as
GPT-2's output layer does: one tensor in torch, in the counts, in gradients and on disk."""
import copy

import pytest
import torch
from torch import nn

from builder import compile_graph, validate
from builder.codegen import to_python_code
from builder.spec import GraphError
from trainers.checkpoints import load_weights, save_weights
from trainers.config import RunSpec, TrainConfig
from trainers.jobs import JobManager
from trainers.limits import Limits

VOCAB, WIDTH, STEPS = 50, 16, 8


def gpt_like(**head) -> dict:
    """Embedding -> Linear -> GELU -> LayerNorm -> Linear scoring every token, tied."""
    return {"version": 1, "name": "tiny gpt", "nodes": [
        {"id": "tokens", "type": "Input", "params": {"shape": [STEPS], "dtype": "long"}},
        {"id": "embed", "type": "Embedding", "params": {"num_embeddings": VOCAB,
                                                        "embedding_dim": WIDTH}},
        {"id": "mix", "type": "Linear", "params": {"out_features": WIDTH}},
        {"id": "act", "type": "GELU", "params": {}},
        {"id": "norm", "type": "LayerNorm", "params": {}},
        {"id": "head", "type": "Linear", "params": {"out_features": VOCAB,
                                                    "tie_weight": "embed", **head}}],
        "edges": [{"source": a, "target": b} for a, b in
                  [("tokens", "embed"), ("embed", "mix"), ("mix", "act"), ("act", "norm"),
                   ("norm", "head")]]}


class Twin(nn.Module):
    """The same model written by hand, tied the way GPT-2 ties it."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, WIDTH)
        self.mix = nn.Linear(WIDTH, WIDTH)
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, VOCAB)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.norm(nn.functional.gelu(self.mix(self.embed(tokens)))))


TOKENS = torch.randint(0, VOCAB, (3, STEPS))


def test_a_tied_model_matches_its_pytorch_twin_in_parameters_and_outputs():
    twin = Twin()
    model = compile_graph(gpt_like())
    count = sum(p.numel() for p in twin.parameters())  # torch counts a shared tensor once
    assert validate(gpt_like()).total_params == count == sum(p.numel() for p in model.parameters())
    assert validate(gpt_like()).nodes["head"].params == VOCAB  # its bias; the table is embed's
    assert model.head.weight is model.embed.weight
    model.load_state_dict(twin.state_dict())  # both names given: fine too
    assert model.head.weight is model.embed.weight
    assert torch.equal(model(TOKENS), twin(TOKENS))


def test_a_training_step_changes_the_one_shared_tensor_with_both_uses_gradients():
    twin, model = Twin(), compile_graph(gpt_like())
    model.load_state_dict(twin.state_dict())
    for net in (twin, model):
        net(TOKENS).logsumexp(-1).sum().backward()
    assert torch.allclose(model.embed.weight.grad, twin.embed.weight.grad)
    before = model.embed.weight.detach().clone()
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    assert not torch.equal(model.embed.weight, before)
    assert model.head.weight is model.embed.weight


def problem(graph):
    problems = validate(graph).problems
    assert len(problems) == 1, problems
    return problems[0]


def test_a_tie_to_a_missing_node_names_both():
    found = problem(gpt_like(tie_weight="embd"))
    assert (found.node, found.field) == ("head", "tie_weight")
    assert "Linear 'head'" in found.message and "'embd', which is not a node" in found.message


def test_a_tie_to_a_layer_that_is_no_embedding_says_what_it_is():
    found = problem(gpt_like(tie_weight="mix"))
    assert found.message == ("Linear 'head': tie_weight expects an Embedding, received 'mix', "
                             "a Linear")


def test_a_tie_whose_table_differs_says_expected_and_received_and_offers_the_fix():
    found = problem(gpt_like(out_features=10))
    assert (found.node, found.field) == ("head", "tie_weight")
    assert "tie_weight expects Embedding 'embed' to have a (10, 16) table" in found.message
    assert "received (50, 16)" in found.message
    assert (found.fix.field, found.fix.value) == ("out_features", VOCAB)
    with pytest.raises(GraphError, match="tie_weight"):
        compile_graph(gpt_like(out_features=10))


def test_a_tie_inside_a_block_is_refused_on_its_use():
    inner = gpt_like()
    graph = {"version": 2, "name": "blocked", "blocks": {"Lm": {
        "nodes": [dict(n, params={}) if n["id"] == "tokens" else n for n in inner["nodes"]],
        "edges": inner["edges"]}},
        "nodes": [inner["nodes"][0], {"id": "lm", "type": "Lm", "params": {}}],
        "edges": [{"source": "tokens", "target": "lm"}]}
    found = problem(graph)
    assert (found.node, found.field) == ("lm", "tie_weight")
    assert "cannot build yet" in found.message


def test_the_exported_file_ties_the_same_way_and_computes_the_same():
    model = compile_graph(gpt_like()).eval()
    source = to_python_code(gpt_like())
    assert "self.head.weight = self.embed.weight" in source
    namespace = {}
    exec(compile(source, "tiny_gpt.py", "exec"), namespace)
    exported = namespace["TinyGpt"]().eval()
    assert exported.head.weight is exported.embed.weight
    state = model.state_dict()
    assert list(state) == ["embed.weight", "mix.weight", "mix.bias", "norm.weight", "norm.bias",
                           "head.bias"]  # the shared table once
    state["head.weight"] = state["embed.weight"]  # as the file's docstring says
    exported.load_state_dict(state)
    assert torch.equal(exported(TOKENS), model(TOKENS))


def test_a_tied_model_saves_and_loads_back_tied(tmp_path):
    model = compile_graph(gpt_like())
    save_weights(model.state_dict(), tmp_path / "w.safetensors")
    again = compile_graph(gpt_like())
    load_weights(tmp_path / "w.safetensors", again)
    assert again.head.weight is again.embed.weight
    assert torch.equal(again(TOKENS), model(TOKENS))
    clone = copy.deepcopy(model)  # pickling goes through the state too
    assert clone.head.weight is clone.embed.weight


def emit_raw_state(spec, control, emit):
    """A run whose weights events are the model's own state_dict tensors (not copies)."""
    model = compile_graph(spec.graph)
    emit({"kind": "weights", "state": {k: v.detach() for k, v in model.state_dict().items()}})
    emit({"kind": "done", "result": {}})


def test_a_tied_models_run_ends_with_its_weights_on_disk(tmp_path):
    manager = JobManager(Limits(max_jobs=1), run_fn=emit_raw_state, worker="thread")
    try:
        job = manager.submit(RunSpec(graph=gpt_like(), dataset="stand-in", dataset_options={},
                                     config=TrainConfig(epochs=1)), owner="alice",
                             weights_dir=tmp_path)
        assert job.wait(30) and job.status == "finished"
        assert job.weights_file() is not None and job.weights_file().exists()
        model = job.model_snapshot()
        assert model.head.weight is model.embed.weight
        reference = compile_graph(gpt_like())
        reference.load_state_dict(job.weights())
        assert torch.equal(model(TOKENS), reference.eval()(TOKENS))
    finally:
        assert manager.shutdown()


def test_the_optimizer_steps_the_shared_tensor_once():
    from trainers.optim import parameters_by_node

    model = compile_graph(gpt_like())
    by_node = parameters_by_node(model)
    assert [p for group in by_node.values() for p in group] == list(model.parameters())
    assert "head" in by_node and by_node["head"] == [model.head.bias]
