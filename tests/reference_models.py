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


class SmallResNet(nn.Module):
    """builder/templates/resnet_small.json: a stem and one residual block."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, kernel_size=3, padding=1)
        self.stem_bn = nn.BatchNorm2d(16)
        self.block_conv1 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.block_bn1 = nn.BatchNorm2d(16)
        self.block_conv2 = nn.Conv2d(16, 16, kernel_size=3, padding=1)
        self.block_bn2 = nn.BatchNorm2d(16)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:       # (N, 1, 28, 28)
        stem = F.relu(self.stem_bn(self.stem(x)))             # (N, 16, 28, 28)
        block = F.relu(self.block_bn1(self.block_conv1(stem)))
        block = self.block_bn2(self.block_conv2(block))       # (N, 16, 28, 28)
        x = F.relu(block + stem)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)            # (N, 16)
        return self.fc(x)                                     # (N, 10)
