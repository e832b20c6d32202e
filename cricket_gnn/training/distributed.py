"""torchrun / DDP plumbing: nccl on CUDA, gloo on CPU; rank 0 alone reports."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def is_main_process() -> bool:
    """True on rank 0 or outside torchrun (the guide's name)."""
    return not dist.is_available() or not dist.is_initialized() or dist.get_rank() == 0


def resolve_device(requested: str, local_rank: int) -> torch.device:
    """'auto' takes this rank's GPU when there is one, else the CPU."""
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but no CUDA device is available")
    torch.cuda.set_device(local_rank)
    return torch.device("cuda", local_rank)


def setup(requested_device: str) -> DistInfo:
    """Join the torchrun process group if launched by torchrun; else a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(requested_device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=device)


def teardown(info: DistInfo, succeeded: bool = True) -> None:
    """Leave the process group cleanly.

    gloo aborts at exit about a third of the time unless the DDP model and optimiser are
    garbage-collected before destroy_process_group (DESIGN §7); callers drop their
    references first, and we collect here. After a failure there is no barrier: the
    other ranks may never reach it, and this rank must exit so torchrun stops them.
    """
    gc.collect()
    if info.distributed and dist.is_initialized():
        if succeeded:
            dist.barrier()
        dist.destroy_process_group()


def main_process_first(info: DistInfo) -> None:
    """Barrier that lets rank 0 finish a step (e.g. a cold data import) before the rest."""
    if info.distributed:
        dist.barrier()


def all_reduce_min(value: int, info: DistInfo) -> int:
    """The smallest `value` over all ranks."""
    if not info.distributed:
        return value
    # NCCL reduces only tensors on the GPU; gloo takes CPU tensors.
    tensor = torch.tensor([value], dtype=torch.int64, device=info.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MIN)
    return int(tensor.item())


def broadcast_object(obj: object, info: DistInfo) -> object:
    """Rank 0's `obj` on every rank."""
    if not info.distributed:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather_objects(obj: object, info: DistInfo) -> list[object]:
    """Every rank's `obj`, in rank order (on every rank)."""
    if not info.distributed:
        return [obj]
    out: list[object] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out
