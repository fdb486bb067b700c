"""Statistics of the backbone's features on the training images, fitted once before the first
iteration: per channel for the neck's standardiser (``model.neck.standardize``), and the
covariance for its principal projection (``model.neck.kind=pca``)."""

import logging

import numpy as np
import torch
from torch import nn

from cagnet.data.loader import evaluation_loader
from cagnet.models.neck import FeatureStandardizer, PrincipalProjection

logger = logging.getLogger(__name__)


def standardizer_of(model: nn.Module) -> FeatureStandardizer | None:
    """The standardiser in ``model.encoder.neck``, or None."""
    neck = getattr(getattr(model, "encoder", None), "neck", None)
    return getattr(neck, "standardizer", None)


def statistics_indices(size: int, limit: int) -> list[int]:
    """``limit`` evenly spaced indices of ``range(size)`` (all of them when limit is 0)."""
    if limit <= 0 or limit >= size:
        return list(range(size))
    return sorted({int(i) for i in np.linspace(0, size - 1, limit)})


def projection_of(model: nn.Module) -> PrincipalProjection | None:
    """The principal projection in ``model.encoder.neck``, or None."""
    neck = getattr(getattr(model, "encoder", None), "neck", None)
    projection = getattr(neck, "projection", None)
    return projection if isinstance(projection, PrincipalProjection) else None


@torch.no_grad()
def channel_statistics(
    backbone: nn.Module,
    reader,
    indices: list[int],
    device: torch.device | str = "cpu",
    covariance: bool = False,
) -> tuple[torch.Tensor, ...]:
    """Mean and standard deviation per channel of ``backbone``'s outputs, over every pixel.

    Args:
        backbone: E (or a ``PrecomputedBackbone`` when ``reader`` is a ``CachedReader``).
        reader: the training split; items are read whole, one at a time (no padding).
        indices: which items.
        covariance: also return the (C, C) covariance of the channels.

    Returns:
        (C,) mean and (C,) std, float32 on ``device``; with ``covariance``, then (C, C).
    """
    if hasattr(reader, "evaluation_loader"):  # a CachedReader: its items are features
        loader = reader.evaluation_loader(indices, 1)
    else:
        loader = evaluation_loader(reader, indices, 1)
    was_training = backbone.training
    backbone.eval()
    total = squares = products = None
    count = 0
    for inputs, *_ in loader:
        features = backbone(inputs.to(device)).double()  # (1, C, h, w)
        pixels = features.transpose(0, 1).flatten(1)  # (C, h * w)
        total = pixels.sum(1) if total is None else total + pixels.sum(1)
        squares = (pixels**2).sum(1) if squares is None else squares + (pixels**2).sum(1)
        if covariance:
            outer = pixels @ pixels.T
            products = outer if products is None else products + outer
        count += pixels.shape[1]
    backbone.train(was_training)
    mean = total / count
    variance = (squares / count - mean**2).clamp_min(0.0)
    if not covariance:
        return mean.float(), variance.sqrt().float()
    matrix = products / count - mean[:, None] * mean[None, :]
    return mean.float(), variance.sqrt().float(), matrix.float()


def fit_neck_statistics(
    model: nn.Module, reader, limit: int = 0, device: torch.device | str = "cpu"
) -> bool:
    """Set the statistics of ``model``'s standardiser and principal projection from ``reader``
    (the training split); the (C, C) covariance is only accumulated for a projection.

    Returns:
        Whether there was a standardiser or a principal projection to fit.
    """
    standardizer, projection = standardizer_of(model), projection_of(model)
    if standardizer is None and projection is None:
        return False
    indices = statistics_indices(len(reader), limit)
    mean, std, *covariance = channel_statistics(
        model.encoder.backbone, reader, indices, device, covariance=projection is not None
    )
    if standardizer is not None:
        standardizer.set_statistics(mean, std)
    if projection is not None:
        covariance = covariance[0]
        if standardizer is not None:  # the covariance of the standardised F
            scale = standardizer.std.double()
            covariance = covariance / (scale[:, None] * scale[None, :])
        share = projection.set_components(covariance)
        logger.info(
            "principal projection: %d components carry %.1f %% of the variance",
            projection.components.shape[0],
            100 * share,
        )
    logger.info(
        "feature statistics from %d training images: mean |mean| %.3g, std %.3g-%.3g",
        len(indices),
        float(mean.abs().mean()),
        float(std.min()),
        float(std.max()),
    )
    return True
