"""The neck: the part of E between a (frozen, maybe cached) backbone and the rest of the model.

F = neck(backbone(images)). Two optional pieces, in this order:

* ``standardize``: per-channel (x - mean) / std with statistics of the training images
  (``cagnet.training.feature_statistics`` fits them once before training). They are buffers,
  so checkpoints and exported models carry them. L2, MMD, the CM and G then work at unit scale
  whatever the backbone's own scale (EfficientNet's stages differ by 3x, its pixels lie 33-80
  apart).
* ``kind``: a trainable map to ``channels``, trained with E's rate (``train.lr``) as the
  paper trains E: "linear" (a 1x1 conv) or "aspp" (a light ASPP: a 1x1 conv, then depthwise
  3x3 convs at dilations 2 and 4 and an image-pooling branch beside it, fused by a 1x1 conv);
  or a frozen map, "pca": the projection onto the ``channels`` leading principal components of
  the (standardised) training features, fitted with the statistics. Unlike a trainable map,
  which cross-entropy on the seen classes shapes, it keeps whatever the backbone's features
  say about classes that were never labelled.

The backbone stays at ``model.encoder.backbone``, so the feature cache replaces it alone and
the neck trains on cached features too.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional

from cagnet.errors import ConfigError

NECK_KINDS = ("none", "linear", "aspp", "pca")


@dataclass(frozen=True)
class NeckConfig:
    """The ``model.neck`` section.

    Attributes:
        standardize: per-channel standardisation with training-set statistics.
        kind: "none", "linear" (1x1 conv) or "aspp" (light ASPP), trainable, or "pca"
            (frozen, fitted on the training features).
        channels: output channels of "linear", "aspp" and "pca".
        statistics_images: training images whose F gives the statistics; 0 = all.
    """

    standardize: bool = False
    kind: str = "none"
    channels: int = 256
    statistics_images: int = 0


class FeatureStandardizer(nn.Module):
    """(x - mean) / std per channel; the statistics are buffers set by ``set_statistics``.

    Args:
        channels: C.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(channels))
        self.register_buffer("std", torch.ones(channels))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def set_statistics(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Store (C,) statistics; std is floored at 1e-4 of its median (dead channels)."""
        floor = 1e-4 * float(std.median().clamp_min(1e-12))
        self.mean.copy_(mean)
        self.std.copy_(std.clamp_min(floor))
        self.fitted.fill_(True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Args: features (B, C, h, w). Returns: (B, C, h, w) standardised."""
        return (features - self.mean.view(1, -1, 1, 1)) / self.std.view(1, -1, 1, 1)


class PrincipalProjection(nn.Module):
    """Frozen projection onto the leading principal components of the training features.

    Buffers (carried by checkpoints and exports): ``components`` (C', C), orthonormal rows, set
    by ``set_components`` from the features' covariance; until then the first C' channels.

    Args:
        in_channels: C.
        channels: C' <= C.
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        if channels > in_channels:
            raise ConfigError(
                f"model.neck.channels={channels} with kind pca: at most the backbone's "
                f"{in_channels} channels (a projection cannot add components)"
            )
        self.register_buffer("components", torch.eye(in_channels)[:channels].clone())
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))

    def set_components(self, covariance: torch.Tensor) -> float:
        """Keep the eigenvectors of the (C, C) ``covariance`` with the largest eigenvalues.

        Returns:
            The share of the total variance that the kept components carry.
        """
        values, vectors = torch.linalg.eigh(covariance.double())  # ascending
        keep = self.components.shape[0]
        self.components.copy_(vectors[:, -keep:].flip(1).T.to(self.components.dtype))
        self.fitted.fill_(True)
        return float(values[-keep:].sum() / values.sum().clamp_min(1e-12))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Args: features (B, C, h, w). Returns: (B, C', h, w)."""
        return torch.einsum("kc,bchw->bkhw", self.components, features)


class LiteASPP(nn.Module):
    """1x1 conv to ``channels``, then [itself, depthwise 3x3 at dilations 2 and 4, image pool]
    concatenated and fused by a 1x1 conv: ASPP's context at a fraction of its cost.

    Args:
        in_channels: C of the input.
        channels: C' of the output.
    """

    def __init__(self, in_channels: int, channels: int, dilations: tuple[int, ...] = (2, 4)):
        super().__init__()
        self.reduce = nn.Conv2d(in_channels, channels, 1)
        self.atrous = nn.ModuleList(
            nn.Conv2d(channels, channels, 3, padding=d, dilation=d, groups=channels)
            for d in dilations
        )
        self.fuse = nn.Conv2d(channels * (len(dilations) + 2), channels, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Args: features (B, C, h, w). Returns: (B, C', h, w)."""
        reduced = self.reduce(features)
        pooled = reduced.mean(dim=(2, 3), keepdim=True).expand_as(reduced)
        branches = [reduced, *(functional.relu(conv(reduced)) for conv in self.atrous), pooled]
        return self.fuse(torch.cat(branches, dim=1))


class Neck(nn.Module):
    """Standardiser (optional) then projection (optional); see the module's docstring.

    Args:
        in_channels: the backbone's channels.
        config: the ``model.neck`` section.
    """

    def __init__(self, in_channels: int, config: NeckConfig) -> None:
        super().__init__()
        if config.kind not in NECK_KINDS:
            raise ConfigError(f"model.neck.kind={config.kind!r}; choose from {NECK_KINDS}")
        if config.kind != "none" and config.channels < 1:
            raise ConfigError(f"model.neck.channels must be >= 1, got {config.channels}")
        self.standardizer = FeatureStandardizer(in_channels) if config.standardize else None
        if config.kind == "linear":
            self.projection = nn.Conv2d(in_channels, config.channels, 1)
        elif config.kind == "aspp":
            self.projection = LiteASPP(in_channels, config.channels)
        elif config.kind == "pca":
            self.projection = PrincipalProjection(in_channels, config.channels)
        else:
            self.projection = None
        self.out_channels = in_channels if self.projection is None else config.channels

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Args: features (B, C, h, w) from the backbone. Returns: F (B, out_channels, h, w)."""
        if self.standardizer is not None:
            features = self.standardizer(features)
        return features if self.projection is None else self.projection(features)


def build_neck(in_channels: int, config: NeckConfig) -> Neck | None:
    """The neck of ``config``, or None when it does nothing (the model stays as before)."""
    if not config.standardize and config.kind == "none":
        return None
    return Neck(in_channels, config)
