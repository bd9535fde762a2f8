"""Initialise a tensor-parallel model on every rank: the weights equal, bit for bit,
those of the same model on one process.

    GLOROT_URL=http://127.0.0.1:8080 torchrun --nproc_per_node 2 init_model.py
    GLOROT_URL=http://127.0.0.1:8080 python3 init_model.py [WORLD]   # spawns WORLD ranks

Without GLOROT_URL every rank computes its part locally: the same bytes.
(The second form exists because Debian 12's torch 1.13 launcher fails on
Python 3.11; it starts the ranks itself on loopback.)
"""
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import glorot
import glorot.torch as gt


class MLP(torch.nn.Module):  # Megatron-style: built at this rank's local shapes
    def __init__(self, tp: int) -> None:
        super().__init__()
        self.up = torch.nn.Linear(256, 1024 // tp, bias=False)  # column-parallel
        self.down = torch.nn.Linear(1024 // tp, 256, bias=False)  # row-parallel


def main() -> None:
    dist.init_process_group("gloo")  # RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
    client = glorot.Client() if os.environ.get("GLOROT_URL") else None
    model = MLP(tp=dist.get_world_size()).to(torch.bfloat16)
    gt.init_module_(model, seed=42, client=client, plan={"up": "colwise", "down": "rowwise"})

    # check: the gathered parts are the one-process model's weights
    whole = gt.init_module_(MLP(tp=1).to(torch.bfloat16), seed=42)
    mine = model.up.weight.detach().view(torch.uint8)
    parts = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, mine)
    assert torch.equal(torch.cat(parts).view(torch.bfloat16), whole.up.weight)
    print(f"rank {dist.get_rank()} of {dist.get_world_size()}: up {tuple(model.up.weight.shape)}"
          f" down {tuple(model.down.weight.shape)}, equal to the one-process model", flush=True)
    dist.destroy_process_group()


def spawned(rank: int, world: int) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world))
    main()


if __name__ == "__main__":
    if "RANK" in os.environ:  # started by torchrun
        main()
    else:
        world = int(sys.argv[1]) if len(sys.argv) > 1 else 2
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        mp.spawn(spawned, args=(world,), nprocs=world, join=True)
