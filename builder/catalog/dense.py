"""Dense layers: Linear and Embedding."""
from math import prod

from builder.catalog.common import bias_param, inferred_param, size_param
from builder.catalog.registry import LayerSpec, NodeCall, register
from builder.params import ParamSpec
from builder.report import Fix


def _linear_shape(call: NodeCall):
    call.require_features()
    # torch applies Linear to the last dim of any rank; we accept features or a sequence of
    # feature vectors and treat images as the usual mistake of a missing Flatten.
    if len(call.shape) > 2:
        fix = Fix("insert_before", call.id, f"Insert Flatten before {call.id}",
                  layer_type="Flatten")
        call.fail("(features,) or (steps, features)", "insert Flatten before it?", fix=fix)
    call.infer("in_features", call.shape[-1])
    return call.shape[:-1] + (call.params["out_features"],)


def _linear_cost(params, inputs, out):
    n_in, n_out = params["in_features"], params["out_features"]
    # A tied weight is the Embedding's table, counted there: here only the bias is new.
    weights = (0 if params["tie_weight"] else n_in * n_out) + (n_out if params["bias"] else 0)
    return weights, 2 * n_in * n_out * prod(inputs[0][:-1])


register(LayerSpec(
    "Linear", "Dense", "Fully connected: every output is a weighted sum of all inputs.",
    _linear_shape, cost=_linear_cost,
    params=(inferred_param("in_features", "Input features (follows from the input)."),
            size_param("out_features", 64, "Number of outputs (neurons)."),
            bias_param(),
            ParamSpec("tie_weight", "text", "", "Id of an Embedding whose table this layer "
                      "reuses as its weight (GPT-2's output layer: scores for every token). "
                      "Empty: its own weight. Needs out_features = num_embeddings.",
                      ctor=False))))


def _embedding_shape(call: NodeCall):
    padding_idx = call.params["padding_idx"]
    vocab = call.params["num_embeddings"]
    if padding_idx is not None and not -vocab <= padding_idx < vocab:
        call.error(f"padding_idx {padding_idx} is outside the vocabulary of {vocab}", "padding_idx")
    return call.shape + (call.params["embedding_dim"],)


register(LayerSpec(
    "Embedding", "Dense", "Turns token ids (long) into learned vectors.",
    _embedding_shape, accepts="long",
    cost=lambda params, inputs, out: (params["num_embeddings"] * params["embedding_dim"], 0),
    params=(size_param("num_embeddings", 100, "Vocabulary size: token ids run 0 .. this - 1."),
            size_param("embedding_dim", 32, "Length of each token's vector."),
            ParamSpec("padding_idx", "int", None, "Token id whose vector stays zero (padding).",
                      min=-(1 << 24), max=1 << 24))))
