"""Test-time options as pure wrappers of a segment function (images -> class scores).

The default evaluation feeds each image as it is and scores at label resolution. Two options
follow the published evaluations:

* **warp** (``eval.warp_size``): resize every image to ``warp_size x warp_size`` (the official
  CaGNet code warps test images to 513 x 513), predict, and resize the scores back to the
  image's size. The official code instead warps the label too and scores at 65 x 65 feature
  resolution; resizing the scores back keeps the ground truth untouched.
* **multi-scale** (``eval.scales``, ``eval.flip``): predict on rescaled (and optionally
  horizontally flipped) copies, resize every score map to the image's size and combine them
  pixel by pixel, by maximum (``eval.scale_reduce="max"``, DeepLab v2's multi-scale fusion that
  the official CaGNet/SPNet ``MSC`` wrapper uses) or by mean. The official CaGNet code does not
  test at several scales; its ``MSC`` max-fusion serves training.

Both wrappers return scores at the input image's size, so they need ``eval.resolution="label"``.
Evaluation batches are never padded (``cagnet.data.loader.same_size_batches``), so a warp works at
any ``eval.batch_size``. The options are checked once, by ``cagnet.config.EvalConfig``.
"""

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from cagnet.config import EvalConfig

Segment = Callable[[torch.Tensor], torch.Tensor]


def _resize(tensor: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    if tuple(tensor.shape[-2:]) == tuple(size):
        return tensor
    return F.interpolate(tensor, size=size, mode="bilinear", align_corners=False)


def warped(segment: Segment, size: int) -> Segment:
    """``segment`` run on images warped to ``size x size``, scores resized back.

    Args:
        segment: images (B, 3, H', W') -> scores (B, K, h, w).
        size: the square input side, e.g. 513.

    Returns:
        A segment function: images (B, 3, H, W) -> scores (B, K, H, W).
    """

    def segment_warped(images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        scores = segment(_resize(images, (size, size)))
        return _resize(scores, (height, width))

    return segment_warped


def multi_scale(
    segment: Segment, scales: Sequence[float], flip: bool = False, reduce: str = "max"
) -> Segment:
    """``segment`` run on rescaled (and flipped) copies, scores fused pixel by pixel.

    Args:
        segment: images (B, 3, H', W') -> scores (B, K, h, w).
        scales: input scales; a copy at scale s is ``int(H * s) x int(W * s)``.
        flip: also run every scale on the horizontally flipped image (scores flipped back).
        reduce: ``"max"`` or ``"mean"`` over the copies.

    Returns:
        A segment function: images (B, 3, H, W) -> scores (B, K, H, W).
    """
    flips = (False, True) if flip else (False,)

    def segment_multi_scale(images: torch.Tensor) -> torch.Tensor:
        height, width = images.shape[-2:]
        fused, count = None, 0
        for scale in scales:
            size = (max(1, int(height * scale)), max(1, int(width * scale)))
            scaled = _resize(images, size)
            for flipped in flips:
                scores = segment(scaled.flip(-1) if flipped else scaled)
                scores = _resize(scores.flip(-1) if flipped else scores, (height, width))
                if fused is None:
                    fused = scores
                elif reduce == "max":
                    fused = torch.maximum(fused, scores)
                else:
                    fused = fused + scores
                count += 1
        return fused if reduce == "max" else fused / count

    return segment_multi_scale


def with_test_time_options(
    segment: Segment,
    warp_size: int = 0,
    scales: Sequence[float] = (),
    flip: bool = False,
    reduce: str = "max",
) -> Segment:
    """Wrap ``segment`` with the configured test-time options (``segment`` itself when none).

    The image is warped first (when ``warp_size`` > 0); the scales then apply to the warped
    image. ``flip`` without ``scales`` fuses the image and its mirror at scale 1.

    Args:
        segment: images (B, 3, H, W) -> scores (B, K, h, w), model in eval mode.
        warp_size: 0, or the square side to warp every image to (official: 513).
        scales: multi-scale test scales, e.g. (0.5, 0.75, 1.0); () for a single scale.
        flip: add horizontally flipped copies.
        reduce: ``"max"`` or ``"mean"`` fusion of the copies.

    Returns:
        images (B, 3, H, W) -> scores: (B, K, H, W) with any option, (B, K, h, w) without.
    """
    if scales or flip:
        segment = multi_scale(segment, tuple(scales) or (1.0,), flip=flip, reduce=reduce)
    if warp_size > 0:
        segment = warped(segment, warp_size)
    return segment


def configured_segment(segment: Segment, options: EvalConfig) -> Segment:
    """``segment`` with the test-time options of a config's ``eval`` section."""
    return with_test_time_options(
        segment, options.warp_size, options.scales, options.flip, options.scale_reduce
    )
