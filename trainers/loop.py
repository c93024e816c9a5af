"""The training loop: Trainer (model + data + settings + callbacks) and the worker entry train_run.

Speed comes from what the loop does NOT do per batch: the dataset sits on the device and batches
are gathered by index; the batch's loss and metric sums stay on the device and are read only at a
metrics point (~5 per second) or an epoch end; the stop/pause checks are a couple of attribute
reads. Everything else (streaming, early stop, snapshots, alerts) is a callback.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext

import torch
from torch import nn

from builder import GraphError, compile_graph, load_graph, validate
from trainers.callbacks import (HOOKS, Callback, Checkpointer, EarlyStopping, GradNormRecorder,
                                MetricsStream, SampleImages, WeightsSnapshot)
from trainers.checkpoints import CheckpointError, load_weights
from trainers.config import ConfigError, RunSpec, TrainConfig, apply_overrides
from trainers.datasets import augment_batch, check_graph_fits, default_augment, load_dataset
from trainers.devices import prepare_device, resolve_device
from trainers.gpu import EVAL_BATCH, short_of_memory
from trainers.health import HealthMonitor, make_alert
from trainers.optim import Updater, lr_factor
from trainers.tasks import BatchLog, Sums, Task, build_gan, make_task

ENDED_BADLY = ("diverged", "out_of_memory")  # statuses that fail the job, last good weights kept
POINT_INTERVAL_S = 0.2  # how often a step point (and the only mid-epoch device read) happens


class TrainingError(RuntimeError):
    """Training could not go on; the message says why in plain words."""


class Trainer:
    def __init__(self, model: nn.Module, bundle, config: TrainConfig, callbacks: Sequence = (),
                 task: Task | None = None, augment=None):
        """`augment`: trainers.datasets AugmentOptions applied to each training batch, or None."""
        self.config = config
        self.augment = augment
        self.device = resolve_device(config.device, config.amp, config.compile)
        prepare_device(self.device)
        self.task = task or make_task(config)
        self.model = model.to(self.device)
        self.forward_model = torch.compile(self.model) if config.compile else self.model
        self.callbacks = list(callbacks)
        # Per hook, only the callbacks that implement it: after_backward runs every step.
        self._hooks = {hook: [getattr(cb, hook) for cb in self.callbacks
                              if getattr(type(cb), hook) is not getattr(Callback, hook)]
                       for hook in HOOKS}
        self.splits = {split: (getattr(bundle, f"x_{split}").to(self.device),
                               getattr(bundle, f"y_{split}").to(self.device))
                       for split in ("train", "val", "test")}
        self.updaters = {name: Updater(part, config, self.device, self._after_backward)
                         for name, part in self.task.parameter_groups(self.model).items()}
        amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
        self.autocast = (torch.autocast(self.device.type, dtype=amp_dtype) if amp_dtype
                         else nullcontext())
        self.step = 0
        self.epoch = 0  # completed epochs; events number epochs from 1
        self.status, self.message = "finished", None
        self.stopping = False
        self.good_state = self.state_copy()

    # --- the loop -----------------------------------------------------------------------------
    def fit(self, control=None) -> dict:
        """Train until the epochs are done or something stops the run; returns the result dict."""
        self.started = time.perf_counter()
        torch.manual_seed(self.config.seed)  # dropout and GAN noise draw from the global RNG
        self.shuffler = torch.Generator().manual_seed(self.config.seed)
        self.augment_rng = torch.Generator(self.device).manual_seed(self.config.seed)
        self._apply_lr()
        self._call("on_train_start")
        out_of_memory = False
        try:
            while self.epoch < self.config.epochs and not self.stopping:
                if self._train_epoch(control):
                    self._end_epoch()
        except torch.OutOfMemoryError:
            out_of_memory = True  # handled outside: the traceback holds the batch's tensors
        if out_of_memory:
            self._out_of_memory()
        if self.status not in ENDED_BADLY:
            self.capture_good_state()
        result = self._result()
        self._call("on_train_end", result)
        return result

    def _train_epoch(self, control) -> bool:
        """One pass over the training set; False when it was cut short."""
        x_all, y_all = self.splits["train"]
        order = torch.randperm(len(x_all), generator=self.shuffler).to(self.device)
        self._epoch_sums = Sums()
        self._start_point()
        self.model.train()
        for batch in self._batches(order):
            if control is not None and not self._obey(control) or self.stopping:
                return False
            x, y = x_all[batch], y_all[batch]
            if self.augment is not None:
                x = augment_batch(x, self.augment, self.augment_rng)
            self._follow_schedule()
            loss, part = self.task.train_step(self.forward_model, x, y, self.updaters,
                                              self.autocast)
            self._point_log.add(loss, len(batch), part)
            self.step += 1
            if time.perf_counter() - self._point_started >= POINT_INTERVAL_S:
                self._point()
        return self._point() and not self.stopping

    def _batches(self, order: torch.Tensor):
        size = self.config.batch_size
        return (order[start:start + size] for start in range(0, self._usable(len(order)), size))

    def _usable(self, n: int) -> int:
        """Samples used per epoch: a last batch of one would break BatchNorm, so it is skipped."""
        return n - 1 if n % self.config.batch_size == 1 and n > 1 else n

    @property
    def steps_per_epoch(self) -> int:
        return max(1, math.ceil(self._usable(len(self.splits["train"][0])) / self.config.batch_size))

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs  # epochs may grow on resume

    @property
    def lr(self) -> float:
        return self.config.lr * lr_factor(self.config.scheduler, self.step, self.total_steps)

    def _follow_schedule(self) -> None:
        if self.config.scheduler != "none":  # a constant lr is set once, at the start or a change
            self._apply_lr()

    def _apply_lr(self) -> None:
        lr = self.lr
        for updater in self.updaters.values():
            updater.set_lr(lr)

    # --- metrics points: the only reads of device values during an epoch ------------------------
    def _start_point(self) -> None:
        self._point_log = BatchLog()
        self._point_started = time.perf_counter()
        self._paused_s = 0.0

    def _point(self) -> bool:
        """Read the batches since the last point; emit a step point, or stop if the loss is not finite."""
        sums = self._point_log.drain()
        if not sums.count:
            return True
        loss, _ = self.task.summarise(sums)
        if not math.isfinite(loss):
            self._diverge(loss)
            return False
        seconds = max(time.perf_counter() - self._point_started - self._paused_s, 1e-9)
        self._epoch_sums += sums
        self._call("on_point", {"step": self.step, "epoch": self.epoch + 1, "loss": loss,
                                "lr": self.lr, "samples_per_s": sums.count / seconds,
                                "total_steps": self.total_steps})
        self._start_point()
        return True

    def _diverge(self, loss: float) -> None:
        self.load_state(self.good_state)
        self.alert(make_alert("nan_loss", value=loss, step=self.step))
        self.stop("diverged", f"The loss became {loss} at step {self.step}; the run stopped and "
                              "kept the last good weights.")

    def _out_of_memory(self) -> None:
        """End the run with a plain message, back on its last good weights, and hand the
        device memory it can back (other runs share the GPU)."""
        self.stopping, self.status = True, "out_of_memory"
        self.message = (f"{self.device} ran out of memory at step {self.step} (batch size "
                        f"{self.config.batch_size}); the run stopped and kept the last good "
                        "weights. Lower the batch size or use a smaller model.")
        self._start_point()  # drop the logged batches' device tensors
        for updater in self.updaters.values():
            updater.optimizer.zero_grad(set_to_none=True)
        self.load_state(self.good_state)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def _end_epoch(self) -> None:
        train_loss, train_metric = self.task.summarise(self._epoch_sums)
        val_loss, val_metric = self.evaluate("val") if self.task.has_validation else (None, None)
        self.epoch += 1
        record = {"epoch": self.epoch, "train_loss": train_loss, "val_loss": val_loss,
                  "train_metric": train_metric, "val_metric": val_metric, "lr": self.lr,
                  "metric": self.task.metric_name, "grad_norms": {},
                  "seconds": time.perf_counter() - self.started}
        self._call("on_epoch_end", record)

    @torch.no_grad()
    def evaluate(self, split: str) -> tuple[float | None, float | None]:
        """(loss, metric) on a split in eval mode; (None, None) when the split is empty."""
        x_all, y_all = self.splits[split]
        if not len(x_all):
            return None, None
        self.model.eval()
        log = BatchLog()
        for start in range(0, len(x_all), EVAL_BATCH):
            with self.autocast:
                x, y = x_all[start:start + EVAL_BATCH], y_all[start:start + EVAL_BATCH]
                loss, part = self.task.loss_and_part(self.forward_model, x, y)
            log.add(loss, len(x), part)
        self.model.train()
        return self.task.summarise(log.drain())

    # --- control: stop, pause, resume with changes ----------------------------------------------
    def _obey(self, control) -> bool:
        if control.should_stop():
            self.stop("stopped", "Stopped on request.")
            return False
        waited_from = time.perf_counter()
        overrides = control.checkpoint_pause()
        self._paused_s += time.perf_counter() - waited_from
        if overrides:
            self.change_config(overrides)
        return True

    def change_config(self, overrides: dict) -> None:
        """Apply settings given on resume; refused ones become an alert and the run goes on."""
        try:
            self.config, changes = apply_overrides(self.config, overrides)
        except ConfigError as err:
            self.alert(make_alert("bad_change", problem=str(err)))
            return
        for updater in self.updaters.values():
            updater.apply_config(self.config)
        self._apply_lr()
        if changes:
            self._call("on_config_changed", {"step": self.step, "changes": changes})

    def stop(self, status: str, message: str) -> None:
        """End the run after the current batch (first reason wins)."""
        if not self.stopping:
            self.stopping, self.status, self.message = True, status, message

    # --- state and events ----------------------------------------------------------------------
    def state_copy(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in self.model.state_dict().items()}

    def capture_good_state(self) -> bool:
        """Keep a CPU copy of the weights as the last good ones, unless a weight is NaN/inf
        (a step can blow the weights up before any loss shows it)."""
        state = self.state_copy()
        if not all(v.isfinite().all() for v in state.values() if v.is_floating_point()):
            return False
        self.good_state = state
        return True

    def load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state)

    def alert(self, event: dict) -> None:
        self._call("on_alert", event)

    def _after_backward(self, params_by_node: dict) -> None:
        self._call("after_backward", params_by_node)

    def _call(self, hook: str, *args) -> None:
        for method in self._hooks[hook]:
            method(self, *args)

    def _result(self) -> dict:
        scored = self.task.has_validation and self.status != "out_of_memory"
        test_loss, test_metric = self.evaluate("test") if scored else (None, None)
        # A diverged or out-of-memory run is an error for the job (failed, with the message);
        # other stops are not.
        error = self.message if self.status in ENDED_BADLY else None
        return {"status": self.status, "message": self.message, "error": error, "epochs": self.epoch,
                "steps": self.step, "seconds": round(time.perf_counter() - self.started, 3),
                "metric": self.task.metric_name, "test_loss": test_loss, "test_metric": test_metric}


def warm_up() -> None:
    """Pay torch's one-off lazy import now: the first optimizer a process builds imports
    torch._dynamo (2-5 s measured on a busy 2-core box). Call it when a server or worker starts,
    so the first run's first point comes in well under a second."""
    torch.optim.Adam([nn.Parameter(torch.zeros(1))])


def default_callbacks(emit: Callable[[dict], None], *, save_dir=None,
                      graph: dict | None = None) -> list[Callback]:
    """The standard set, in the order that keeps "done" the last event (see trainers.callbacks).
    With `save_dir`, the run folder (weights, graph, settings, metrics) is refreshed every epoch."""
    checkpointing = [Checkpointer(save_dir, graph or {})] if save_dir else []
    return [GradNormRecorder(), EarlyStopping(), HealthMonitor(), *checkpointing,
            WeightsSnapshot(emit), SampleImages(emit), MetricsStream(emit)]


def train_run(spec: RunSpec | dict, control, emit: Callable[[dict], None], *,
              save_dir=None) -> dict:
    """The worker entry point (thread or process): build everything from the plain spec, train,
    and report through `emit`. Raises TrainingError (or the dataset's error) with a plain message
    when the run cannot start; returns the same result dict the final "done" event carries."""
    spec = RunSpec.model_validate(spec)
    config = spec.config
    torch.manual_seed(config.seed)  # the weights' initial values come from here
    bundle = load_dataset(spec.dataset, seed=config.seed, **spec.dataset_options)
    model, task = build_model(spec.graph, bundle, config)
    augment = default_augment(bundle.info) if config.augment else None
    if config.augment and augment is None:
        raise TrainingError(f"augment: '{spec.dataset}' is not an image dataset; turn augment off")
    if spec.init_state:
        try:
            load_weights(spec.init_state, model)
        except (CheckpointError, OSError) as err:
            raise TrainingError(f"cannot start from {spec.init_state}: {err}") from None
    if config.device.startswith("cuda"):
        check_gpu_memory(spec.graph, bundle, config)
    callbacks = default_callbacks(emit, save_dir=save_dir, graph=spec.graph)
    trainer = Trainer(model, bundle, config, callbacks, task=task, augment=augment)
    return trainer.fit(control)


def check_gpu_memory(graph: dict, bundle, config: TrainConfig) -> None:
    """Refuse to start when the GPU has less free memory than the run needs (the job manager
    counted only its own runs; other programs may use the GPU too)."""
    device = resolve_device(config.device, config.amp, config.compile)
    data = sum(getattr(bundle, f"{part}_{split}").nbytes for part in ("x", "y")
               for split in ("train", "val", "test"))
    problem = short_of_memory(validate(graph), config, data, device)
    if problem:
        raise TrainingError(problem)


def build_model(graph: dict, bundle, config: TrainConfig) -> tuple[nn.Module, Task]:
    """Compile the graph for the task; GraphError (naming nodes and fields) when it is invalid
    or does not fit the dataset."""
    graph = load_graph(graph)
    misfits = check_graph_fits(validate(graph), bundle.info, config.task)
    if misfits:
        raise GraphError(misfits)
    if config.task == "gan":
        return build_gan(graph, tuple(bundle.x_train.shape[1:]), config.seed)
    return compile_graph(graph), make_task(config)
