"""Hand-written PyTorch twins of three templates, written the way a person would without LayerLoom.

Attribute names equal the template's node ids, so a compiled template's state_dict loads into these
directly. tests/test_equivalence.py checks the outputs agree; bench/bench_builder.py compares their
training step time with the compiled graphs.
"""
import torch
from torch import nn
import torch.nn.functional as F


class SeedCNN(nn.Module):
    """builder/templates/cnn_seed.json: the Keras tutorial CNN."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 1, 28, 28)
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)            # (N, 32, 13, 13)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)            # (N, 64, 5, 5)
        x = torch.flatten(x, 1)                               # (N, 1600)
        return self.fc2(F.relu(self.fc1(x)))                  # (N, 10)


class SeedLSTM(nn.Module):
    """builder/templates/lstm_seed.json: classify a sequence from the LSTM's last step."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(100, 256, num_layers=2, batch_first=True)
        self.fc = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 20, 100)
        steps, _ = self.lstm(x)                               # (N, 20, 256)
        return self.fc(steps[:, -1])                          # (N, 10)


class SmallBasicBlock(nn.Module):
    """resnet_small's BasicBlock block: two 3x3 convolutions and the skip."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, kernel_size=3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, C, H, W)
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + x)          # (N, C, H, W)


class SmallResNet(nn.Module):
    """builder/templates/resnet_small.json: a stem and one residual block (keys layer1.conv1...)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.stem_bn = nn.BatchNorm2d(16)
        self.layer1 = SmallBasicBlock(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 1, 28, 28)
        stem = F.relu(self.stem_bn(self.stem(x)))             # (N, 16, 28, 28)
        x = self.layer1(stem)                                 # (N, 16, 28, 28)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)            # (N, 16)
        return self.fc(x)                                     # (N, 10)


# --- published architectures, written the way torchvision and nanoGPT write them -------------
# tests/reference_graphs.py holds the same networks as LayerLoom graphs.

def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1,
            act: type[nn.Module] | None = nn.ReLU6) -> nn.Sequential:
    """torchvision's Conv2dNormActivation: conv (no bias), BatchNorm, optional activation."""
    layers = [nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([act()] if act else []))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int):
        super().__init__()
        hidden = cin * expand
        layers = [conv_bn(cin, hidden, 1)] if expand != 1 else []
        layers += [conv_bn(hidden, hidden, 3, stride, groups=hidden),  # depthwise
                   conv_bn(hidden, cout, 1, act=None)]  # linear bottleneck
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        from tests.reference_graphs import MOBILENET_V2_SETTINGS
        blocks, channels = [conv_bn(3, 32, 3, 2)], 32
        for expand, out, repeats, first_stride in MOBILENET_V2_SETTINGS:
            for repeat in range(repeats):
                blocks.append(InvertedResidual(channels, out, first_stride if repeat == 0 else 1,
                                               expand))
                channels = out
        self.features = nn.Sequential(*blocks, conv_bn(channels, 1280, 1))
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 3, H, W)
        x = F.adaptive_avg_pool2d(self.features(x), 1)        # (N, 1280, 1, 1)
        return self.classifier(torch.flatten(x, 1))           # (N, classes)


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class ResNet18(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        stages, channels = [], 64
        for i, out in enumerate((64, 128, 256, 512)):
            stride = 1 if i == 0 else 2
            stages.append(nn.Sequential(BasicBlock(channels, out, stride),
                                        BasicBlock(out, out, 1)))
            channels = out
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 3, H, W)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class GPTBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(approximate="tanh"),
                                 nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, T, E)
        steps = x.shape[1]
        future = torch.ones(steps, steps, dtype=torch.bool, device=x.device).triu(1)
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, attn_mask=future)[0]
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's layout, with torch's MultiheadAttention."""

    def __init__(self, vocab: int = 50, steps: int = 12, width: int = 32, heads: int = 4,
                 layers: int = 2):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(steps, width)
        self.h = nn.ModuleList(GPTBlock(width, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:     # (N, T) long
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
        for block in self.h:
            x = block(x)                                      # (N, T, E)
        return self.lm_head(self.ln_f(x))                     # (N, T, vocab)


class ViT(nn.Module):
    """torchvision's VisionTransformer layout, one encoder layer."""

    def __init__(self, size: int = 28, patch: int = 4, width: int = 32, classes: int = 10):
        super().__init__()
        self.conv_proj = nn.Conv2d(1, width, patch, patch)
        self.class_token = nn.Parameter(torch.zeros(1, width))
        self.pos_embedding = nn.Parameter(torch.zeros((size // patch) ** 2 + 1, width))
        self.encoder = nn.TransformerEncoderLayer(width, 4, 2 * width, dropout=0.0,
                                                  batch_first=True, norm_first=True)
        self.head = nn.Linear(width, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 1, H, W)
        x = self.conv_proj(x).flatten(2).transpose(1, 2)      # (N, patches, width)
        token = self.class_token.expand(x.shape[0], 1, -1)    # (N, 1, width)
        x = torch.cat([token, x], dim=1) + self.pos_embedding  # (N, 1 + patches, width)
        return self.head(self.encoder(x)[:, 0])               # (N, classes)
