"""Train the exported LayerLoom model: `python train.py`, or on N processes/GPUs/machines with
`torchrun --nproc_per_node=N train.py` (DistributedDataParallel; gloo on CPU, nccl on CUDA).

Standalone: needs only torch and safetensors. model.py holds the network, data.safetensors the
dataset splits, config.json the hyperparameters chosen in LayerLoom.
"""
import hashlib
import json
import math
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

HERE = Path(__file__).resolve().parent


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); a plain `python train.py` is a world of one."""
    if "RANK" not in os.environ:
        return 0, 1, torch.device("cuda" if torch.cuda.is_available() else "cpu")
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend)
    rank, local_rank = dist.get_rank(), int(os.environ.get("LOCAL_RANK", 0))
    if torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
        return rank, dist.get_world_size(), torch.device("cuda", local_rank)
    return rank, dist.get_world_size(), torch.device("cpu")


def make_optimizer(params, cfg: dict) -> torch.optim.Optimizer:
    name, lr, wd = cfg["optimizer"], cfg["lr"], cfg.get("weight_decay", 0.0)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=wd, momentum=cfg.get("momentum", 0.0),
                               nesterov=cfg.get("nesterov", False) and cfg.get("momentum", 0.0) > 0)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, weight_decay=wd, momentum=cfg.get("momentum", 0.0))
    adam = torch.optim.AdamW if name == "adamw" else torch.optim.Adam
    return adam(params, lr=lr, weight_decay=wd, betas=(cfg.get("momentum", 0.9), 0.999))


def make_scheduler(optimizer, cfg: dict, steps_per_epoch: int):
    total = max(1, cfg["epochs"] * steps_per_epoch)
    kind = cfg.get("scheduler", "none")
    if kind == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, total // 3), gamma=0.1)
    if kind == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if kind == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg["lr"], total_steps=total)
    return None


def loss_and_score(task: str, output: torch.Tensor, x: torch.Tensor, y: torch.Tensor):
    """(mean loss, summed score): correct predictions for classification, -squared error otherwise."""
    if task == "classification":
        return F.cross_entropy(output, y), (output.argmax(dim=1) == y).sum()
    target = x if task == "autoencoder" else y
    error = F.mse_loss(output, target.view_as(output), reduction="none")
    return error.mean(), -error.sum()


def evaluate(model, task, x, y, batch_size) -> tuple[float, float]:
    """(mean loss, accuracy or negative MSE) over a whole split on this process."""
    model.eval()
    total_loss, total_score = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            loss, score = loss_and_score(task, model(x[i:i + batch_size]), x[i:i + batch_size],
                                         y[i:i + batch_size])
            total_loss += loss.item() * len(x[i:i + batch_size])
            total_score += score.item()
    model.train()
    per_item = y[0].numel() if task != "classification" else 1
    return total_loss / max(1, len(x)), total_score / max(1, len(x) * per_item)


def weights_digest(model: torch.nn.Module) -> str:
    """A hash of every parameter's bytes: equal across ranks when DDP kept them in sync."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def stored_once(state: dict) -> dict:
    """Each tensor under its first name only: a tied weight (an output layer reusing the
    embedding's table) is one tensor under two names, which safetensors refuses to store twice;
    LayerLoom stores and reloads a tie the same way."""
    first = {}
    for name, tensor in state.items():
        first.setdefault((tensor.data_ptr(), tuple(tensor.shape)) if tensor.numel() else name, name)
    return {name: state[name].contiguous().cpu() for name in first.values()}


def main() -> None:
    sys.path.insert(0, str(HERE))
    import model as model_file  # model.py beside this script, written by LayerLoom

    cfg = json.loads((HERE / "config.json").read_text())
    rank, world, device = setup_distributed()
    torch.manual_seed(cfg["seed"])  # the same seed on every rank: identical initial weights
    data = {k: v.to(device) for k, v in load_file(HERE / "data.safetensors").items()}
    x_train, y_train = data["x_train"], data["y_train"]

    net = model_file.Model().to(device)
    model = DistributedDataParallel(net) if world > 1 else net
    optimizer = make_optimizer(model.parameters(), cfg)
    # Each rank takes every world-th sample of one shared shuffle: disjoint shards, same step count.
    shard_size = len(x_train) // world
    steps_per_epoch = math.ceil(shard_size / cfg["batch_size"])
    scheduler = make_scheduler(optimizer, cfg, steps_per_epoch)
    generator = torch.Generator().manual_seed(cfg["seed"])
    started = time.time()
    for epoch in range(cfg["epochs"]):
        order = torch.randperm(len(x_train), generator=generator)[rank:shard_size * world:world]
        for i in range(0, shard_size, cfg["batch_size"]):
            batch = order[i:i + cfg["batch_size"]].to(device)
            loss, _ = loss_and_score(cfg["task"], model(x_train[batch]), x_train[batch], y_train[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.get("grad_clip", 0) > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["grad_clip"])
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
        if rank == 0:
            val_loss, val_score = evaluate(net, cfg["task"], data["x_val"], data["y_val"], 512)
            print(f"epoch {epoch + 1}/{cfg['epochs']}  val_loss {val_loss:.4f}  val_score {val_score:.4f}",
                  flush=True)
    test_loss, test_score = evaluate(net, cfg["task"], data["x_test"], data["y_test"], 512)
    digests = [weights_digest(net)] * world  # one per rank; gathered so that rank 0 can report
    if world > 1:
        dist.all_gather_object(digests, digests[0])
    if rank == 0:
        save_file(stored_once(net.state_dict()), HERE / "model.safetensors")
        metric = "test_accuracy" if cfg["task"] == "classification" else "test_neg_mse"
        print(json.dumps({metric: test_score, "test_loss": test_loss, "epochs": cfg["epochs"],
                          "seconds": round(time.time() - started, 2), "world_size": world,
                          "weights_sha256_by_rank": digests}), flush=True)
    if world > 1:
        dist.barrier()  # leave together: a rank tearing down while its peer still talks can abort
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
