"""A frozen backbone whose outputs were computed beforehand (the feature cache).

With ``feature_cache.enabled`` the loop replaces E by ``PrecomputedBackbone(E)``: the model then
receives E's cached outputs instead of images, so every method's code runs unchanged. The
wrapper keeps E's parameters and buffers under E's own names, so a checkpoint written in cache
mode loads into the model with the real backbone (and back) and can segment images later.
"""

import torch

from cagnet.errors import ConfigError
from cagnet.models.backbones.base import Backbone


class PrecomputedBackbone(Backbone):
    """The identity on cached feature maps, standing in for the frozen backbone ``source``.

    Args:
        source: the frozen backbone whose outputs are cached; its weights are kept (``source``
            itself stays reachable for computing F of new images), its ``out_channels`` and
            ``output_stride`` are copied.
    """

    def __init__(self, source: Backbone) -> None:
        super().__init__()
        # Not a registered child (its tensors are registered below under their own names), so
        # the cache can still compute F for new images with it.
        object.__setattr__(self, "source", source)
        self.out_channels = source.out_channels
        self.output_stride = source.output_stride
        # Same state-dict keys as ``source``: its children, direct parameters and buffers.
        for name, child in source.named_children():
            self.add_module(name, child)
        for name, parameter in source.named_parameters(recurse=False):
            self.register_parameter(name, parameter)
        transient = getattr(source, "_non_persistent_buffers_set", set())
        for name, buffer in source.named_buffers(recurse=False):
            self.register_buffer(name, buffer, persistent=name not in transient)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "PrecomputedBackbone":
        """Stays in eval mode: the backbone is frozen (its modules never run anyway)."""
        return super().train(False)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Pass cached features through.

        Args:
            features: F computed beforehand, (B, out_channels, h, w).

        Returns:
            The same tensor.

        Raises:
            ConfigError: when the input is not a feature map of ``out_channels`` channels
                (e.g. images fed by a code path that does not read the cache).
        """
        if features.dim() != 4 or features.shape[1] != self.out_channels:
            raise ConfigError(
                f"with feature_cache.enabled=true the backbone reads cached feature maps "
                f"(B, {self.out_channels}, h, w), but got a tensor of shape "
                f"{tuple(features.shape)}: this code path feeds images; set "
                "feature_cache.enabled=false for it"
            )
        return features
