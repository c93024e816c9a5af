"""Classification views: probabilities, confusion matrix, per-class accuracy, confident mistakes."""
import numpy as np
import torch
from torch import nn

from trainers.eval_budget import chunks
from trainers.probes.hooks import probing


def _as_probabilities(outputs: torch.Tensor) -> torch.Tensor:
    """Accept logits, probabilities (a final Softmax) or log-probabilities (a final LogSoftmax)."""
    sums = outputs.sum(dim=1)
    if (outputs >= 0).all() and torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
        return outputs
    return torch.softmax(outputs, dim=1)  # softmax(log p) == p, so log-probabilities pass too


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """The model's raw outputs (N, ...) on the CPU, in batches of at most `batch_size` that fit
    the server's evaluation budget (trainers.eval_budget)."""
    with probing(model):
        return torch.cat([model(x[rows]).float().cpu()
                          for rows in chunks(model, len(x), most=batch_size)])


def predict_proba(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Class probabilities (N, C) on the CPU, computed in batches."""
    return _as_probabilities(predict(model, x, batch_size))


def classification_summary(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                           top_mistakes: int = 12) -> dict:
    """Accuracy, confusion matrix (rows: true class), per-class accuracy, most confident mistakes."""
    probs = predict_proba(model, x)
    predicted = probs.argmax(dim=1).numpy()
    truth = y.cpu().numpy()
    classes = probs.shape[1]
    confusion = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(confusion, (truth, predicted), 1)
    support = confusion.sum(axis=1)
    per_class = np.divide(np.diag(confusion), support, out=np.full(classes, np.nan), where=support > 0)
    wrong = np.flatnonzero(predicted != truth)
    confidence = probs.max(dim=1).values.numpy()
    worst = wrong[np.argsort(-confidence[wrong])][:top_mistakes]
    return {
        "accuracy": float((predicted == truth).mean()) if len(truth) else float("nan"),
        "confusion": confusion,
        "per_class_accuracy": per_class,
        "mistakes": [{"index": int(i), "true": int(truth[i]), "predicted": int(predicted[i]),
                      "confidence": float(confidence[i])} for i in worst],
    }
