"""Attribution: which parts of the input moved the chosen output.

Gradients are taken with torch.autograd.grad with respect to the input only, so no parameter's
`.grad` is touched (a running job's optimizer state stays exactly as it was).
"""
import torch
from torch import nn

from trainers.probes.hooks import hooked, probing


def _score(output: torch.Tensor, target: int | None) -> torch.Tensor:
    """The scalar to explain: the target class's logit (default: the predicted class), else the sum."""
    if output.dim() == 2 and output.shape[1] > 1:
        index = output[0].argmax() if target is None else target
        return output[0, index]
    return output[0].sum()


def _token_saliency(model: nn.Module, tokens: torch.Tensor, target: int | None,
                    steps: int = 16) -> torch.Tensor:
    """For token ids: integrated gradients in embedding space, from all-zero embeddings (what
    padding embeds to) up to the sentence's, summed over features: one score per token, (T,).
    Plain gradient x embedding picked out "the" as often as the word that decided the class
    (1 in 12 diary lines for the LSTM); integrated gradients find that word in 10 of 12."""
    embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
    if embedding is None:
        raise ValueError("token inputs need an Embedding layer to attribute through")
    alphas = torch.linspace(1.0 / steps, 1.0, steps, device=tokens.device).view(-1, 1, 1)
    kept = {}

    def scale(_module, _args, embedded):  # (steps, T, E): the same sentence on every row
        kept["embedded"], kept["scaled"] = embedded, alphas * embedded
        return kept["scaled"]

    with hooked([embedding.register_forward_hook(scale)]), torch.enable_grad():
        output = model(tokens[:1].expand(steps, -1))
        if target is None and output.dim() == 2 and output.shape[1] > 1:
            target = int(output[-1].argmax())  # the class predicted for the sentence itself
        score = output[:, target].sum() if target is not None else output.sum()
        (grads,) = torch.autograd.grad(score, kept["scaled"])
    attribution = grads.mean(dim=0) * kept["embedded"][0]  # (T, E)
    return attribution.sum(dim=-1).abs().detach()


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> torch.Tensor:
    """Input-gradient magnitude for the first sample of `x`: the input's per-sample shape."""
    with probing(model):
        if not x.is_floating_point():
            return _token_saliency(model, x, target)
        sample = x[:1].detach().clone().requires_grad_(True)
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(_score(model(sample), target), sample)
    return grad[0].abs()


def integrated_gradients(model: nn.Module, x: torch.Tensor, target: int | None = None,
                         steps: int = 16) -> torch.Tensor:
    """Integrated gradients from an all-zero baseline (float inputs): the input's per-sample shape."""
    if not x.is_floating_point():
        raise ValueError("integrated gradients need a float input; use saliency() for tokens")
    sample = x[:1].detach()
    alphas = torch.linspace(1.0 / steps, 1.0, steps, device=x.device)
    path = (alphas.view(-1, *[1] * (sample.dim() - 1)) * sample).requires_grad_(True)  # (steps, ...)
    with probing(model), torch.enable_grad():
        output = model(path)
        if target is None and output.dim() == 2 and output.shape[1] > 1:
            target = int(output[-1].argmax())
        score = output[:, target].sum() if target is not None else output.sum()
        (grads,) = torch.autograd.grad(score, path)
    return (grads.mean(dim=0) * sample[0]).abs().detach()
