"""Published architectures written as LayerLoom graphs (flat, one node per layer), for the
equivalence tests against the hand-written twins in tests/reference_models.py.

The graphs are built in the order the twins create their modules, so both hold their
parameters in the same order (tests/test_architectures.py pairs them up by position).
"""


class GraphWriter:
    """Appends nodes and edges; `add` returns the new node's id so calls chain naturally."""

    def __init__(self, name: str):
        self.graph = {"version": 1, "name": name, "nodes": [], "edges": []}

    def add(self, node_id: str, layer_type: str, *sources: str, **params) -> str:
        self.graph["nodes"].append({"id": node_id, "type": layer_type, "params": params})
        self.graph["edges"] += [{"source": s, "target": node_id, "port": port}
                                for port, s in enumerate(sources)]
        return node_id

    def conv_bn(self, name: str, x: str, out: int, kernel: int, stride: int = 1,
                groups: int = 1, act: str | None = "ReLU6") -> str:
        """Conv (no bias) -> BatchNorm -> optional activation, as torchvision's ConvBNActivation."""
        x = self.add(f"{name}_conv", "Conv2d", x, out_channels=out, kernel_size=kernel,
                     stride=stride, padding=(kernel - 1) // 2, groups=groups, bias=False)
        x = self.add(f"{name}_bn", "BatchNorm2d", x)
        return self.add(f"{name}_act", act, x) if act else x


# (expansion t, output channels c, repeats n, first stride s): torchvision's MobileNetV2 table.
MOBILENET_V2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                         (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2(num_classes: int = 1000, size: int = 224) -> dict:
    """MobileNetV2 (width 1.0): inverted residual blocks of 1x1 expand, 3x3 depthwise (groups =
    channels) and a linear 1x1 projection, with ReLU6 and a skip where the shape allows."""
    g = GraphWriter("mobilenet_v2")
    x = g.add("image", "Input", shape=[3, size, size])
    x = g.conv_bn("stem", x, 32, 3, stride=2)
    channels, index = 32, 0
    for expand, out, repeats, first_stride in MOBILENET_V2_SETTINGS:
        for repeat in range(repeats):
            index += 1
            stride, name, block_in = (first_stride if repeat == 0 else 1), f"b{index}", x
            hidden = channels * expand
            if expand != 1:
                x = g.conv_bn(f"{name}_expand", x, hidden, 1)
            x = g.conv_bn(f"{name}_dw", x, hidden, 3, stride=stride, groups=hidden)
            x = g.conv_bn(f"{name}_project", x, out, 1, act=None)
            if stride == 1 and channels == out:
                x = g.add(f"{name}_add", "Add", block_in, x)
            channels = out
    x = g.conv_bn("head", x, 1280, 1)
    x = g.add("pool", "AdaptiveAvgPool2d", x, output_size=1)
    x = g.add("flat", "Flatten", x)
    x = g.add("drop", "Dropout", x, p=0.2)
    g.add("fc", "Linear", x, out_features=num_classes)
    return g.graph


def resnet18(num_classes: int = 1000, size: int = 224) -> dict:
    """ResNet-18: a 7x7 stem, max pool, four stages of two BasicBlocks (a 1x1 strided projection
    on the skip where the shape changes), global average pool and a Linear."""
    g = GraphWriter("resnet18")
    x = g.add("image", "Input", shape=[3, size, size])
    x = g.conv_bn("stem", x, 64, 7, stride=2, act="ReLU")
    x = g.add("maxpool", "MaxPool2d", x, kernel_size=3, stride=2, padding=1)
    channels = 64
    for stage, out in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            name, block_in = f"layer{stage}_{block}", x
            x = g.conv_bn(f"{name}_1", x, out, 3, stride=stride, act="ReLU")
            x = g.conv_bn(f"{name}_2", x, out, 3, act=None)
            skip = block_in
            if stride != 1 or channels != out:
                skip = g.conv_bn(f"{name}_down", block_in, out, 1, stride=stride, act=None)
            x = g.add(f"{name}_relu", "ReLU", g.add(f"{name}_add", "Add", x, skip))
            channels = out
    x = g.add("pool", "AdaptiveAvgPool2d", x, output_size=1)
    x = g.add("flat", "Flatten", x)
    g.add("fc", "Linear", x, out_features=num_classes)
    return g.graph


def gpt(vocab: int = 50, steps: int = 12, width: int = 32, heads: int = 4,
        layers: int = 2) -> dict:
    """A GPT-style decoder (nanoGPT's shape): token and learned position embeddings, pre-norm
    blocks of causal self-attention and a GELU MLP, each added back, then a final LayerNorm and
    a Linear to next-token logits."""
    g = GraphWriter("gpt")
    tokens = g.add("tokens", "Input", shape=[steps], dtype="long")
    x = g.add("pos", "PositionalEmbedding", g.add("wte", "Embedding", tokens,
                                                  num_embeddings=vocab, embedding_dim=width))
    for i in range(layers):
        h = g.add(f"h{i}_ln1", "LayerNorm", x)
        h = g.add(f"h{i}_attn", "MultiheadAttention", h, num_heads=heads, causal=True)
        x = g.add(f"h{i}_add1", "Add", x, h)
        h = g.add(f"h{i}_ln2", "LayerNorm", x)
        h = g.add(f"h{i}_fc", "Linear", h, out_features=4 * width)
        h = g.add(f"h{i}_gelu", "GELU", h, approximate="tanh")
        h = g.add(f"h{i}_proj", "Linear", h, out_features=width)
        x = g.add(f"h{i}_add2", "Add", x, h)
    g.add("lm_head", "Linear", g.add("ln_f", "LayerNorm", x), out_features=vocab)
    return g.graph


def _chain(*layers: tuple[str, str, dict]) -> tuple[list[dict], list[dict]]:
    """Nodes and edges of a straight chain of (id, type, params)."""
    nodes = [{"id": i, "type": t, "params": p} for i, t, p in layers]
    return nodes, [{"source": a["id"], "target": b["id"]} for a, b in zip(nodes, nodes[1:])]


def _basic_block(downsample: bool) -> dict:
    """torchvision's BasicBlock as a block: two 3x3 convs and a skip (projected when asked)."""
    conv = {"out_channels": "$channels", "kernel_size": 3, "padding": 1, "bias": False}
    nodes, edges = _chain(("x", "Input", {}),
                          ("conv1", "Conv2d", {**conv, "stride": "$stride"}),
                          ("bn1", "BatchNorm2d", {}), ("relu1", "ReLU", {}),
                          ("conv2", "Conv2d", conv), ("bn2", "BatchNorm2d", {}),
                          ("add", "Add", {}), ("relu2", "ReLU", {}))
    skip = "x"
    if downsample:
        down, down_edges = _chain(("down_conv", "Conv2d", {"out_channels": "$channels",
                                                           "kernel_size": 1, "stride": "$stride",
                                                           "bias": False}),
                                  ("down_bn", "BatchNorm2d", {}))
        nodes[6:6] = down  # before the add, in torchvision's creation order
        edges += down_edges + [{"source": "x", "target": "down_conv"}]
        skip = "down_bn"
    edges.append({"source": skip, "target": "add", "port": 1})
    return {"params": {"channels": 64, "stride": 1}, "nodes": nodes, "edges": edges}


def resnet18_blocks(num_classes: int = 1000, size: int = 224) -> dict:
    """ResNet-18 with blocks (format version 2): BasicBlock defined once, used twice per stage;
    a Stage block (DownBlock then BasicBlock) for the stages that halve the image."""
    stage_nodes = [{"id": "x", "type": "Input", "params": {}},
                   {"id": "first", "type": "DownBlock",
                    "params": {"channels": "$channels", "stride": 2}},
                   {"id": "rest", "type": "BasicBlock", "params": {"channels": "$channels"}}]
    g = GraphWriter("resnet18")
    g.graph["version"] = 2
    g.graph["blocks"] = {
        "BasicBlock": _basic_block(downsample=False), "DownBlock": _basic_block(downsample=True),
        "Stage": {"params": {"channels": 128}, "nodes": stage_nodes,
                  "edges": [{"source": "x", "target": "first"},
                            {"source": "first", "target": "rest"}]}}
    x = g.add("image", "Input", shape=[3, size, size])
    x = g.conv_bn("stem", x, 64, 7, stride=2, act="ReLU")
    x = g.add("maxpool", "MaxPool2d", x, kernel_size=3, stride=2, padding=1)
    x = g.add("layer1", "BasicBlock", x, channels=64, repeat=2)
    for stage, channels in ((2, 128), (3, 256), (4, 512)):
        x = g.add(f"layer{stage}", "Stage", x, channels=channels)
    x = g.add("pool", "AdaptiveAvgPool2d", x, output_size=1)
    g.add("fc", "Linear", g.add("flat", "Flatten", x), out_features=num_classes)
    return g.graph


def _inverted_residual(skip: bool) -> dict:
    """MobileNetV2's block: 1x1 expand to `hidden`, 3x3 depthwise, linear 1x1 projection."""
    g = GraphWriter("block")
    x = g.add("x", "Input")
    h = g.conv_bn("expand", x, "$hidden", 1)
    h = g.conv_bn("dw", h, "$hidden", 3, stride="$stride" if not skip else 1, groups="$hidden")
    h = g.conv_bn("project", h, "$channels", 1, act=None)
    if skip:
        g.add("add", "Add", x, h)
    params = {"hidden": 96, "channels": 16} | ({} if skip else {"stride": 1})
    return {"params": params, "nodes": g.graph["nodes"], "edges": g.graph["edges"]}


def mobilenet_v2_blocks(num_classes: int = 1000, size: int = 224) -> dict:
    """MobileNetV2 with blocks: per stage one InvertedResidual (it may change size), then the
    ResidualBlock (same shape, with the skip) repeated; 34 top-level nodes instead of 154."""
    g = GraphWriter("mobilenet_v2")
    g.graph["version"] = 2
    g.graph["blocks"] = {"InvertedResidual": _inverted_residual(skip=False),
                         "ResidualBlock": _inverted_residual(skip=True)}
    x = g.add("image", "Input", shape=[3, size, size])
    x = g.conv_bn("stem", x, 32, 3, stride=2)
    x = g.conv_bn("b1_dw", x, 32, 3, groups=32)  # the first block has no expansion
    x = g.conv_bn("b1_project", x, 16, 1, act=None)
    channels = 16
    for stage, (expand, out, repeats, stride) in enumerate(MOBILENET_V2_SETTINGS[1:], start=2):
        x = g.add(f"stage{stage}", "InvertedResidual", x, hidden=channels * expand,
                  channels=out, stride=stride)
        if repeats > 1:
            x = g.add(f"stage{stage}_rest", "ResidualBlock", x, hidden=out * expand,
                      channels=out, repeat=repeats - 1)
        channels = out
    x = g.conv_bn("head", x, 1280, 1)
    x = g.add("pool", "AdaptiveAvgPool2d", x, output_size=1)
    x = g.add("drop", "Dropout", g.add("flat", "Flatten", x), p=0.2)
    g.add("fc", "Linear", x, out_features=num_classes)
    return g.graph


def vit(size: int = 28, patch: int = 4, width: int = 32, classes: int = 10) -> dict:
    """A small Vision Transformer: patches by a strided conv, (C, H, W) -> (patches, C) by
    Flatten and Transpose, a class token in front, learned positions, one encoder layer, and the
    class token's output classified."""
    g = GraphWriter("vit")
    x = g.add("image", "Input", shape=[1, size, size])
    x = g.add("patch", "Conv2d", x, out_channels=width, kernel_size=patch, stride=patch)
    x = g.add("tokens", "Transpose", g.add("flat", "Flatten", x, start_dim=2), dim0=1, dim1=2)
    x = g.add("cls", "Parameter", x, shape=[1, width], combine="prepend", init="normal")
    x = g.add("pos", "PositionalEmbedding", x)
    x = g.add("encoder", "TransformerEncoderLayer", x, nhead=4, dim_feedforward=2 * width,
              dropout=0.0, norm_first=True)
    g.add("head", "Linear", g.add("first", "SelectTimestep", x, index=0), out_features=classes)
    return g.graph
