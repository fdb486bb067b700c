"""Multi-process training under torchrun: process groups, DDP wrappers and reductions.

gloo on the CPU, NCCL on GPUs. Each rank reads its shard of the training stream
(``cagnet.data.loader.StreamSampler``); only rank 0 writes files.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_from_environment(device_kind: str) -> Context:
    """Join the process group torchrun describes in the environment; one process otherwise."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Context()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend, rank=rank, world_size=world_size)
    return Context(rank=rank, world_size=world_size, local_rank=local_rank)


def wrap(module: nn.Module | None, context: Context, device: torch.device) -> nn.Module | None:
    """DistributedDataParallel around ``module`` when several processes run; else ``module``."""
    if module is None or not context.distributed:
        return module
    if not any(p.requires_grad for p in module.parameters()):
        return module
    device_ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(
        module, device_ids=device_ids, find_unused_parameters=True
    )


def average(values: dict[str, float], context: Context) -> dict[str, float]:
    """Mean of each logged scalar over the ranks (identical keys on every rank)."""
    if not context.distributed or not values:
        return values
    keys = sorted(values)
    tensor = torch.tensor([values[k] for k in keys], dtype=torch.float64)
    dist.all_reduce(tensor)
    return {k: float(v) / context.world_size for k, v in zip(keys, tensor, strict=True)}


def barrier(context: Context) -> None:
    if context.distributed:
        dist.barrier()


def shutdown(context: Context) -> None:
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()
