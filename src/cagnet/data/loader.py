"""Torch data sets and loaders whose order depends only on the seed and the iteration.

The training stream is a sequence of sample positions p = 0, 1, 2, ...; position p falls in
epoch p // N, reads index perm_epoch[p % N] and crops with a seed derived from (seed, p). Rank r
of W processes reads positions it*B*W + r*B + j. So a resumed run, or a run on more processes,
sees exactly the samples it would have seen without interruption.
"""

from collections.abc import Callable, Iterator, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from cagnet.config import AugmentConfig
from cagnet.data.transforms import augment, to_tensors


class TrainingSet(Dataset):
    """Reads (index, crop seed) keys and returns augmented (image, label) crops."""

    def __init__(self, reader: Sequence, augment_config: AugmentConfig):
        self.reader = reader
        self.augment_config = augment_config

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, crop_seed = key
        image, label = to_tensors(self.reader[index])
        generator = torch.Generator().manual_seed(crop_seed)
        config = self.augment_config
        return augment(image, label, config.crop_size, config.scale_range, config.flip, generator)


class StreamSampler(Sampler):
    """Yields batches of (index, crop seed) keys for iterations start, start + 1, ..., stop - 1."""

    def __init__(
        self,
        num_samples: int,
        batch_size: int,
        seed: int,
        start: int,
        stop: int,
        rank: int = 0,
        world_size: int = 1,
    ):
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.start, self.stop, self.rank, self.world_size = start, stop, rank, world_size
        self._epoch, self._perm = -1, torch.empty(0, dtype=torch.long)

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def _index(self, position: int) -> int:
        epoch = position // self.num_samples
        if epoch != self._epoch:
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.num_samples, generator=generator)
        return int(self._perm[position % self.num_samples])

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for iteration in range(self.start, self.stop):
            first = (iteration * self.world_size + self.rank) * self.batch_size
            yield [
                (self._index(p), (self.seed * 2_147_483_629 + p) % (2**63))
                for p in range(first, first + self.batch_size)
            ]


def training_loader(
    reader: Sequence,
    augment_config: AugmentConfig,
    batch_size: int,
    seed: int,
    start: int,
    stop: int,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
) -> DataLoader:
    """Batches of (B, 3, S, S) images and (B, S, S) labels for iterations [start, stop)."""
    sampler = StreamSampler(len(reader), batch_size, seed, start, stop, rank, world_size)
    return DataLoader(
        TrainingSet(reader, augment_config),
        batch_sampler=sampler,
        num_workers=num_workers,
        # Its own generator: creating the loader must not draw from the global RNG, or a resumed
        # run would continue from a different random state than an uninterrupted one.
        generator=torch.Generator().manual_seed(seed),
    )


class ReaderImages:
    """index -> (normalised image (3, H, W), label (H, W)) of a reader's item."""

    def __init__(self, reader: Sequence):
        self.reader = reader

    def __call__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return to_tensors(self.reader[index])


class EvaluationSet(Dataset):
    """Whole items in index order: (input (C, h, w), label (H, W), index).

    Args:
        load: index -> (input, label); images by default, cached features in the
            frozen-backbone mode.
    """

    def __init__(
        self, load: Callable[[int], tuple[torch.Tensor, torch.Tensor]], indices: Sequence[int]
    ):
        self.load, self.indices = load, list(indices)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        index = self.indices[position]
        inputs, label = self.load(index)
        return inputs, label, index


EvaluationBatch = tuple[torch.Tensor, torch.Tensor, list[int]]


def same_size_batches(items: list[tuple[torch.Tensor, torch.Tensor, int]]) -> list[EvaluationBatch]:
    """Split loaded items into batches of equal input and label size, in index order.

    Items are never padded: a model's scores near an image's right and bottom edges (and, through
    the upsampling, everywhere) would depend on what else shares its batch. Runs of consecutive
    items of one size (every CamVid image, say) stay one batch.

    Returns:
        (inputs (B, C, h, w), labels (B, H, W), indices) per run of consecutive equal sizes.
    """
    batches: list[list[tuple[torch.Tensor, torch.Tensor, int]]] = []
    for item in items:
        inputs, label, _ = item
        last = batches[-1][-1] if batches else None
        if last is not None and (last[0].shape, last[1].shape) == (inputs.shape, label.shape):
            batches[-1].append(item)
        else:
            batches.append([item])
    return [
        (
            torch.stack([inputs for inputs, _, _ in batch]),
            torch.stack([label for _, label, _ in batch]),
            [index for _, _, index in batch],
        )
        for batch in batches
    ]


class EvaluationLoader:
    """Iterates evaluation batches: up to ``batch_size`` items, split where sizes change.

    Args:
        loader: a DataLoader whose batches are lists of same-size batches (``same_size_batches``).
    """

    def __init__(self, loader: DataLoader):
        self.loader = loader

    def __iter__(self) -> Iterator[EvaluationBatch]:
        for batches in self.loader:
            yield from batches


def evaluation_loader(
    reader: Sequence,
    indices: Sequence[int],
    batch_size: int,
    num_workers: int = 0,
    load: Callable[[int], tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> EvaluationLoader:
    """Batches of whole, unpadded items for evaluation, in index order.

    Each batch holds consecutive items of one size (at most ``batch_size``), so the output does
    not depend on ``batch_size``.

    Args:
        load: index -> (input, label); default the reader's normalised images.

    Returns:
        An iterable of (inputs (B, C, h, w), labels (B, H, W), indices).
    """
    return EvaluationLoader(
        DataLoader(
            EvaluationSet(load if load is not None else ReaderImages(reader), indices),
            batch_size=batch_size,
            shuffle=False,
            num_workers=num_workers,
            collate_fn=same_size_batches,
        )
    )
