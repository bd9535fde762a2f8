"""A small Llama-shaped model for the distributed tests, built at the local
shapes of one tensor-parallel rank (Megatron style: the module holds its part).

Embeddings (vocab-parallel rows), attention q/k/v (column-parallel, with
biases as Qwen2 has them) and o (row-parallel), an MLP gate/up (column) and
down (row), RMSNorm weights, and an output projection (column).
"""

from __future__ import annotations

import torch
from torch import nn

import glorot


def _served(init: str, **kw) -> bool:
    try:
        for alg in ("chacha20", "mlx"):
            glorot.describe(init, shape=(2, 2), seed=1, algorithm=alg, **kw)
        return True
    except glorot.Error:
        return False


# Biases and norms need zeros/ones from the initializer family (issue 16), the
# embeddings' PyTorch default needs normal: a C library without them gets the
# same model without biases and norms, and Glorot embeddings.
FAMILY = glorot._core.library_knows_init() and _served("zeros") and _served("ones")
NORMAL = FAMILY and _served("normal", std=1.0)

DIM, HEADS, HIDDEN, VOCAB, LAYERS = 32, 4, 64, 96, 2


class RMSNorm(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim))


class Attention(nn.Module):
    def __init__(self, tp: int) -> None:
        super().__init__()
        self.wq = nn.Linear(DIM, DIM // tp, bias=FAMILY)
        self.wk = nn.Linear(DIM, DIM // tp, bias=FAMILY)
        self.wv = nn.Linear(DIM, DIM // tp, bias=FAMILY)
        self.wo = nn.Linear(DIM // tp, DIM, bias=False)


class MLP(nn.Module):
    def __init__(self, tp: int) -> None:
        super().__init__()
        self.w1 = nn.Linear(DIM, HIDDEN // tp, bias=False)
        self.w3 = nn.Linear(DIM, HIDDEN // tp, bias=False)
        self.w2 = nn.Linear(HIDDEN // tp, DIM, bias=False)


class Block(nn.Module):
    def __init__(self, tp: int) -> None:
        super().__init__()
        if FAMILY:
            self.attention_norm = RMSNorm(DIM)
            self.ffn_norm = RMSNorm(DIM)
        self.attention = Attention(tp)
        self.feed_forward = MLP(tp)


class TinyLlama(nn.Module):
    def __init__(self, tp: int = 1, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(VOCAB // tp, DIM)
        self.layers = nn.ModuleList(Block(tp) for _ in range(LAYERS))
        if FAMILY:
            self.norm = RMSNorm(DIM)
        self.output = nn.Linear(DIM, VOCAB // tp, bias=False)
        self.to(dtype)


# torch's tensor-parallel styles by module name (glorot.torch maps them to shards)
TP_PLAN = {
    "tok_embeddings": "rowwise",  # Embedding rowwise = Shard(0): vocab-parallel rows
    "layers.*.attention.wq": "colwise",
    "layers.*.attention.wk": "colwise",
    "layers.*.attention.wv": "colwise",
    "layers.*.attention.wo": "rowwise",
    "layers.*.feed_forward.w1": "colwise",
    "layers.*.feed_forward.w3": "colwise",
    "layers.*.feed_forward.w2": "rowwise",
    "output": "colwise",
}

# the axis each planned parameter is split on (for gathering); others are whole
TP_AXES = {
    "tok_embeddings.weight": 0,
    "output.weight": 0,
}
for _l in range(LAYERS):
    for _n in ("wq", "wk", "wv"):
        TP_AXES[f"layers.{_l}.attention.{_n}.weight"] = 0
        if FAMILY:
            TP_AXES[f"layers.{_l}.attention.{_n}.bias"] = 0
    TP_AXES[f"layers.{_l}.attention.wo.weight"] = 1
    TP_AXES[f"layers.{_l}.feed_forward.w1.weight"] = 0
    TP_AXES[f"layers.{_l}.feed_forward.w3.weight"] = 0
    TP_AXES[f"layers.{_l}.feed_forward.w2.weight"] = 1
