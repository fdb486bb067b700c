"""Frozen backbones and frozen batch norm: modes that survive ``model.train()``.

A frozen module must stay in eval mode even when the surrounding model calls ``train()`` every
iteration, so the flags live on the backbone and its ``train`` re-applies them.
"""

from typing import Self

from torch import nn

from cagnet.models.backbones.base import Backbone


def batchnorm_layers(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every batch-norm layer inside ``module`` (itself included)."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


class FreezableBackbone(Backbone):
    """A backbone that can be frozen as a whole or only in its batch-norm layers.

    * ``freeze()``: every parameter gets ``requires_grad=False`` and the module stays in eval
      mode (no dropout, no running-statistics updates), as for a fixed feature extractor.
    * ``freeze_batchnorm()``: batch-norm layers keep their (pretrained) running statistics and
      their affine parameters are not trained, as in DeepLab v2's caffe training
      (``use_global_stats: true``, ``lr_mult: 0``); the rest of the backbone trains.
    """

    frozen: bool = False
    batchnorm_frozen: bool = False

    def freeze(self) -> Self:
        """Freeze the whole backbone (eval mode, no gradients). Returns ``self``."""
        self.frozen = True
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        return self.train(self.training)

    def freeze_batchnorm(self) -> Self:
        """Keep every batch-norm layer in eval mode with untrained affine parameters."""
        self.batchnorm_frozen = True
        for layer in batchnorm_layers(self):
            for parameter in layer.parameters():
                parameter.requires_grad_(False)
        return self.train(self.training)

    def train(self, mode: bool = True) -> Self:
        """Set the training mode, keeping frozen parts in eval mode."""
        super().train(mode and not self.frozen)
        if self.batchnorm_frozen:
            for layer in batchnorm_layers(self):
                layer.eval()
        return self
