"""Attention and transformer layers (batch-first: (steps, features) per sample)."""
from builder.catalog.common import bias_param, dropout_param, inferred_param, size_param
from builder.catalog.registry import LayerSpec, NodeCall, fmt, register
from builder.params import ParamSpec


def _check_heads(call: NodeCall, width_name: str, heads_name: str):
    width, heads = call.params[width_name], call.params[heads_name]
    if width % heads:
        call.error(f"{width_name} ({width}) must be divisible by {heads_name} ({heads})",
                   heads_name)


def _attention_shape(call: NodeCall):
    query, key, value = call.shapes  # empty ports were filled with the previous port's input
    for name, shape in zip(("query", "key", "value"), call.shapes):
        if len(shape) != 2:
            call.fail(f"{name} as (steps, features)", received=fmt(shape))
    if key[0] != value[0]:
        call.fail("key and value with the same number of steps",
                  received=f"{fmt(key)} and {fmt(value)}")
    if call.params["causal"] and query[0] != key[0]:
        call.fail("query and key with the same number of steps when causal",
                  received=f"{fmt(query)} and {fmt(key)}", field="causal")
    _key_tokens_check(call, key[0])
    call.infer("embed_dim", query[1])
    call.infer("kdim", key[1])
    call.infer("vdim", value[1])
    _check_heads(call, "embed_dim", "num_heads")
    return query


def _attention_cost(params, inputs, out):
    (q_steps, _), (k_steps, _), _ = inputs
    width, kdim, vdim = params["embed_dim"], params["kdim"], params["vdim"]
    bias = 4 * width if params["bias"] else 0
    weights = width * (width + kdim + vdim) + width * width + bias
    projections = 2 * width * (q_steps * width + k_steps * (kdim + vdim) + q_steps * width)
    scores_and_mix = 2 * 2 * q_steps * k_steps * width
    return weights, projections + scores_and_mix


def _attention_scratch(params, inputs, out):
    """Per head, the (query steps, key steps) weights; the q, k, v projections and the mixed
    values before the output projection."""
    (q_steps, _), (k_steps, _), _ = inputs
    width = params["embed_dim"]
    return params["num_heads"] * q_steps * k_steps + 2 * width * (q_steps + k_steps)


def _masks(params: dict, ports: tuple[str, ...], query: str, key: str, *, causal_kw: str,
           padding_kw: str) -> str:
    """Mask keyword arguments, True where attention is blocked (torch's boolean masks), one per
    continuation line so the generated forward stays readable."""
    masks = ""
    if params["causal"]:  # step t may look at steps 0..t only: block everything above the diagonal
        masks += (f",\n{causal_kw}=torch.ones({{{query}}}.shape[1], {{{key}}}.shape[1], "
                  f"dtype=torch.bool, device={{{query}}}.device).triu(1)")
    if "key_tokens" in ports:
        masks += f",\n{padding_kw}={{key_tokens}} == {params['padding_idx']}"
    return masks


def _attention_forward(params: dict, ports: tuple[str, ...]) -> str:
    masks = _masks(params, ports, "query", "key", causal_kw="attn_mask",
                   padding_kw="key_padding_mask")
    return "{module}({query}, {key}, {value}" + masks + ")[0]"


def _key_tokens_check(call: NodeCall, steps: int) -> None:
    tokens = call.tokens.get("key_tokens")
    if tokens is not None and tokens != (steps,):
        call.fail(f"key_tokens as ({steps},): one token id per key step", received=fmt(tokens))


def _mask_params() -> tuple[ParamSpec, ...]:
    return (ParamSpec("causal", "bool", False, "Each step sees only itself and earlier steps, "
                      "never the future (GPT-style text generation).", ctor=False),
            ParamSpec("padding_idx", "int", 0, "Token id meaning padding: keys whose key_tokens "
                      "input holds it are ignored.", min=0, max=1 << 24, ctor=False))


register(LayerSpec(
    "MultiheadAttention", "Attention/Transformer", "Each step looks at every step of key/value "
    "(one input: self-attention).", _attention_shape, cost=_attention_cost,
    scratch=_attention_scratch,
    ports=("query", "key", "value"), token_ports=("key_tokens",), min_inputs=1,
    fixed_kwargs={"batch_first": True}, forward=_attention_forward,
    params=(inferred_param("embed_dim", "Query features (follows from the input)."),
            ParamSpec("num_heads", "int", 4, "Parallel attention heads; must divide embed_dim.",
                      min=1, max=256),
            dropout_param(0.0, "Dropout on the attention weights while training."), bias_param(),
            inferred_param("kdim", "Key features (follows from the key input)."),
            inferred_param("vdim", "Value features (follows from the value input)."),
            *_mask_params())))


def _encoder_shape(call: NodeCall):
    call.require_rank(2, meaning="(steps, features)")
    call.infer("d_model", call.shape[1])
    _check_heads(call, "d_model", "nhead")
    _key_tokens_check(call, call.shape[0])
    return call.shape


def _encoder_forward(params: dict, ports: tuple[str, ...]) -> str:
    masks = _masks(params, ports, "input", "input", causal_kw="src_mask",
                   padding_kw="src_key_padding_mask")
    return "{module}({input}" + masks + ")"


def _encoder_cost(params, inputs, out):
    steps, width, hidden = inputs[0][0], params["d_model"], params["dim_feedforward"]
    weights = 4 * width * width + 2 * width * hidden + 2 * width  # attention, FF, norm scales
    if params["bias"]:
        weights += 4 * width + hidden + width + 2 * width  # attention, FF, norm shifts
    flops = 2 * steps * (4 * width * width + 2 * width * hidden) + 4 * steps * steps * width
    return weights, flops


def _encoder_scratch(params, inputs, out):
    """The attention's weights per head, its q, k, v and mixed values, the feed-forward's hidden
    layer before and after its activation, and the residual sums and norms."""
    steps, width = inputs[0][0], params["d_model"]
    return (params["nhead"] * steps * steps + 8 * steps * width
            + 2 * steps * params["dim_feedforward"])


register(LayerSpec(
    "TransformerEncoderLayer", "Attention/Transformer", "Self-attention plus a feed-forward "
    "block, each with a residual and LayerNorm.", _encoder_shape, cost=_encoder_cost,
    scratch=_encoder_scratch,
    fixed_kwargs={"batch_first": True}, token_ports=("key_tokens",), forward=_encoder_forward,
    params=(inferred_param("d_model", "Features per step (follows from the input)."),
            ParamSpec("nhead", "int", 4, "Attention heads; must divide d_model.", min=1, max=256),
            size_param("dim_feedforward", 128, "Hidden size of the feed-forward block."),
            dropout_param(0.1),
            ParamSpec("activation", "choice", "relu", "Feed-forward activation.",
                      choices=("relu", "gelu")),
            ParamSpec("layer_norm_eps", "float", 1e-5, "LayerNorm's small constant.",
                      min=0.0, max=1.0),
            ParamSpec("norm_first", "bool", False, "Normalise before each block (more stable "
                      "when deep)."),
            bias_param(), *_mask_params())))
