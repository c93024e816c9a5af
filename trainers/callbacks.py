"""Everything the loop does besides training: each side effect is one callback.

Hooks, all called with the Trainer first (see trainers.loop for when):
  on_train_start · after_backward(params_by_node) · on_point(point) · on_epoch_end(record)
  · on_alert(alert) · on_config_changed(change) · on_train_end(result)
A callback may add to the epoch `record`, call `trainer.stop(status, message)`, or
`trainer.alert(event)`. Order matters: MetricsStream goes last so "done" is the final event.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import torch

from trainers.checkpoints import save_run
from trainers.metrics import MetricsHistory

Emit = Callable[[dict], None]
WEIGHTS_INTERVAL_S = 2.0  # the page's model snapshot is at most this old while a run goes on
GRAD_SAMPLES_PER_EPOCH = 4  # gradient norms are measured on a few steps, not all of them
SAMPLE_IMAGES = 16


HOOKS = ("on_train_start", "after_backward", "on_point", "on_epoch_end", "on_alert",
         "on_config_changed", "on_train_end")


class Callback:
    def on_train_start(self, trainer): pass
    def after_backward(self, trainer, params_by_node): pass
    def on_point(self, trainer, point): pass
    def on_epoch_end(self, trainer, record): pass
    def on_alert(self, trainer, alert): pass
    def on_config_changed(self, trainer, change): pass
    def on_train_end(self, trainer, result): pass


class MetricsStream(Callback):
    """Turns the loop's moments into the worker protocol's events."""

    def __init__(self, emit: Emit):
        self.emit = emit

    def on_point(self, trainer, point):
        self.emit({"kind": "step", **point})

    def on_epoch_end(self, trainer, record):
        self.emit({"kind": "epoch", **record})

    def on_alert(self, trainer, alert):
        self.emit(alert)

    def on_config_changed(self, trainer, change):
        self.emit({"kind": "config_changed", **change})

    def on_train_end(self, trainer, result):
        self.emit({"kind": "done", "result": result})


class GradNormRecorder(Callback):
    """Each node's gradient norm, averaged over a few sampled steps per epoch -> record["grad_norms"].

    A sample costs a handful of kernels whatever the model's size, and stays on the device until
    the epoch ends."""

    def on_train_start(self, trainer):
        self.every = max(1, trainer.steps_per_epoch // GRAD_SAMPLES_PER_EPOCH)
        self.samples: list[tuple[list[str], torch.Tensor]] = []
        self.layouts: dict[tuple[str, ...], NormLayout] = {}  # made once, not per sample

    def after_backward(self, trainer, params_by_node):
        if trainer.step % self.every:
            return
        owners, grads = [], []
        for node, params in params_by_node.items():
            for param in params:
                if param.grad is not None:
                    owners.append(node)
                    grads.append(param.grad)
        if grads:
            key = tuple(owners)
            if key not in self.layouts:
                self.layouts[key] = norm_layout(owners, grads[0].device)
            self.samples.append(node_norms(owners, grads, self.layouts[key]))

    def on_epoch_end(self, trainer, record):
        sums, counts = {}, {}
        for nodes, norms in self.samples:
            for node, norm in zip(nodes, norms.tolist()):
                sums[node] = sums.get(node, 0.0) + norm
                counts[node] = counts.get(node, 0) + 1
        record["grad_norms"] = {node: sums[node] / counts[node] for node in sums}
        self.samples = []


NormLayout = tuple[list[str], torch.Tensor]  # the nodes, and each tensor's node index [tensors]


def norm_layout(owners: list[str], device: torch.device) -> NormLayout:
    """Which node each gradient tensor belongs to, as an index tensor on the device (made once:
    a host-to-GPU copy per sample would wait for the GPU)."""
    nodes = list(dict.fromkeys(owners))
    return nodes, torch.tensor([nodes.index(o) for o in owners], device=device)


def node_norms(owners: list[str], grads: list[torch.Tensor],
               layout: NormLayout | None = None) -> tuple[list[str], torch.Tensor]:
    """(nodes, their gradient norms [nodes]): each node's norm over all its tensors' gradients."""
    # One fused kernel for every tensor's norm (what clip_grad_norm_ uses), then per node the
    # square root of the sum of its tensors' squared norms.
    nodes, owner_index = layout or norm_layout(owners, grads[0].device)
    squares = torch.stack(torch._foreach_norm(grads)).float().square()  # [tensors]
    per_node = torch.zeros(len(nodes), device=squares.device).index_add_(0, owner_index, squares)
    return nodes, per_node.sqrt()


class EarlyStopping(Callback):
    """Stop when validation loss has not improved for `config.early_stopping_patience` epochs
    (read each epoch, so a resume can change it) and go back to the best epoch's weights."""

    def __init__(self):
        self.best, self.best_epoch, self.best_state, self.waited = float("inf"), 0, None, 0

    def on_epoch_end(self, trainer, record):
        val_loss, patience = record["val_loss"], trainer.config.early_stopping_patience
        if val_loss is None:
            return
        if val_loss < self.best:
            self.best, self.best_epoch, self.waited = val_loss, record["epoch"], 0
            # A copy per improving epoch, only while early stopping is on.
            self.best_state = trainer.state_copy() if patience else None
            return
        self.waited += 1
        if patience and self.waited >= patience:
            if self.best_state is not None:  # None: turned on by a resume after the best epoch
                trainer.good_state = self.best_state
                trainer.load_state(self.best_state)
            trainer.stop("early_stopped", (
                f"Validation loss has not improved for {self.waited} epochs; kept the weights of "
                f"epoch {self.best_epoch} (validation loss {self.best:.4g})."))


class WeightsSnapshot(Callback):
    """Emits the latest good weights (CPU copies), at most every `interval_s` and at the end."""

    def __init__(self, emit: Emit, interval_s: float = WEIGHTS_INTERVAL_S):
        self.emit, self.interval_s, self.last = emit, interval_s, 0.0

    def on_point(self, trainer, point):
        # A point's loss was finite; capture_good_state also checks the weights themselves.
        if time.monotonic() - self.last >= self.interval_s and trainer.capture_good_state():
            self._send(trainer)

    def on_train_end(self, trainer, result):
        self._send(trainer)

    def _send(self, trainer):
        self.last = time.monotonic()
        self.emit({"kind": "weights", "state": trainer.good_state})


class SampleImages(Callback):
    """Generated samples (GAN) or originals over reconstructions (AE/VAE) after each epoch."""

    def __init__(self, emit: Emit, count: int = SAMPLE_IMAGES):
        self.emit, self.count = emit, count

    def on_train_start(self, trainer):
        x_val = trainer.splits["val"][0]
        self.inputs = (x_val if len(x_val) else trainer.splits["train"][0])[:self.count]

    def on_epoch_end(self, trainer, record):
        if trainer.task.makes_samples and self.inputs.dim() == 4:  # images: [N, C, H, W]
            trainer.model.eval()
            images = trainer.task.sample_images(trainer.model, self.inputs)
            trainer.model.train()
            self.emit({"kind": "samples", "images": images, "epoch": record["epoch"]})


class Checkpointer(Callback):
    """Writes the run folder (weights, graph, settings, metrics CSV) after every epoch, so a
    crash loses at most one epoch, and once more at the end (early stopping's best weights)."""

    def __init__(self, save_dir: str | Path, graph: dict):
        self.save_dir, self.graph, self.history = Path(save_dir), graph, MetricsHistory()

    def on_epoch_end(self, trainer, record):
        self.history.apply({"kind": "epoch", **record})
        self._save(trainer)

    def on_train_end(self, trainer, result):
        self._save(trainer)

    def _save(self, trainer):
        trainer.capture_good_state()
        save_run(self.save_dir, graph=self.graph, state=trainer.good_state, config=trainer.config,
                 metrics_csv=self.history.to_csv())
