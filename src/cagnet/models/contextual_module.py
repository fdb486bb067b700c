"""The Contextual Module (CM), section 3.2 of the paper.

F (B, l, h, w) --three serial 3x3 dilated convs (dilations 1, 2, 5)--> context maps
F^0, F^1, F^2 with receptive fields 3, 7 and 17 on F. The context selector, a 3x3 conv over
[F^0, F^1, F^2], gives per-pixel scale weights A (B, 3, h, w) that scale each map; a 1x1 conv
turns the weighted concatenation into mu and log-variance of the contextual latent code
z ~ N(mu, sigma). z = mu + eps * sigma while training, z = mu at test time.

Switches reproduce the CM variants of the paper's Table 3 and supplementary Table 2:
``layer`` ("dilated" the paper's CM, "plain" 3x3 convs without dilation, "pointwise" 1x1
convs), ``num_layers`` (five plain convs in Table 3's second row), ``multi_scale`` (concatenate
all context maps rather than use the last), ``selector`` ("pixel" the paper's selector, "global"
one weight per scale from global pooling, "none"), ``mask_center`` (the "conv (mask)" row: the
first conv's centre taps fixed at zero) and ``parallel`` (the three convs read F side by side).

Two deviations from the paper's text, both forced by arithmetic: five plain 3x3 convs (Table 3,
second row) have 47 l^2 parameters against the CM's 33 l^2, not "equal" ones; and the parallel
convs with dilations 1, 2, 5 see 3, 5 and 11 pixels (the supplementary says 13 for the last).
"""

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from cagnet.errors import ConfigError

LAYER_KINDS = ("dilated", "plain", "pointwise")
SELECTOR_KINDS = ("pixel", "global", "none")


@dataclass(frozen=True)
class ContextualModuleConfig:
    """How the CM is built; the defaults are the paper's CM."""

    layer: str = "dilated"
    dilations: tuple[int, ...] = (1, 2, 5)
    num_layers: int = 3
    multi_scale: bool = True
    selector: str = "pixel"
    mask_center: bool = False
    parallel: bool = False
    # |logvar| is clamped to this (the paper does not clamp); 0 = no clamp.
    logvar_clamp: float = 10.0
    # logvar = b * tanh(raw / b) when > 0 (smooth, exp(logvar) <= e^b; replaces the clamp). With
    # L_REC through z, logvar ran into the clamp and the CM's gradient norm grew 100 -> 7e5
    # before NaN (benchmarks/RESULTS.md, issue 9, item 2).
    logvar_bound: float = 0.0
    # true: the CM reads F detached, so L_REC (through z) and L_KL train the CM but never E;
    # E still learns from the classification losses through X = F + F * sigmoid(Z).
    detach_input: bool = False


class ContextOutput(NamedTuple):
    """What the CM computes from F.

    Attributes:
        mu: (B, l, h, w) mean of the contextual latent code.
        logvar: (B, l, h, w) log-variance of the code.
        z: (B, l, h, w) the sampled code (mu at test time).
        scale_weights: (B, S, h, w) the context selector's weights (ones without a selector).
    """

    mu: torch.Tensor
    logvar: torch.Tensor
    z: torch.Tensor
    scale_weights: torch.Tensor


class ContextualModule(nn.Module):
    """Multi-scale context maps, context selector and the contextual latent code."""

    def __init__(self, channels: int, config: ContextualModuleConfig = ContextualModuleConfig()):
        super().__init__()
        if config.layer not in LAYER_KINDS:
            raise ConfigError(f"model.contextual.layer={config.layer!r}; choose from {LAYER_KINDS}")
        if config.selector not in SELECTOR_KINDS:
            raise ConfigError(
                f"model.contextual.selector={config.selector!r}; choose from {SELECTOR_KINDS}"
            )
        self.config = config
        self.context_convs = nn.ModuleList(
            nn.Conv2d(channels, channels, **_conv_geometry(config, index))
            for index in range(config.num_layers)
        )
        if config.mask_center:
            # "conv (mask)": the first conv ignores each pixel's own feature. Its centre taps are
            # zeroed and kept at zero by a constant mask applied in forward.
            mask = torch.ones_like(self.context_convs[0].weight)
            mask[:, :, mask.shape[2] // 2, mask.shape[3] // 2] = 0
            self.register_buffer("center_mask", mask)
        num_scales = config.num_layers if config.multi_scale else 1
        self.num_scales = num_scales
        if config.selector == "pixel":
            self.selector = nn.Conv2d(num_scales * channels, num_scales, 3, padding=1)
        elif config.selector == "global":
            self.selector = nn.Linear(num_scales * channels, num_scales)
        self.to_distribution = nn.Conv2d(num_scales * channels, 2 * channels, 1)
        self.activation = nn.LeakyReLU(0.2)

    def forward(self, features: torch.Tensor) -> ContextOutput:
        """Compute the contextual latent code.

        Args:
            features: F, (B, l, h, w).

        Returns:
            ContextOutput with (B, l, h, w) mu, logvar and z and (B, S, h, w) scale weights.
        """
        if self.config.detach_input:
            features = features.detach()
        context_maps = self._context_maps(features)
        stacked = torch.cat(context_maps, dim=1)  # (B, S*l, h, w)
        batch, _, height, width = stacked.shape
        if self.config.selector == "pixel":
            weights = torch.sigmoid(self.selector(stacked))  # (B, S, h, w)
        elif self.config.selector == "global":
            pooled = stacked.mean(dim=(2, 3))  # (B, S*l)
            weights = torch.sigmoid(self.selector(pooled))[:, :, None, None].expand(
                batch, self.num_scales, height, width
            )
        else:
            weights = stacked.new_ones(batch, self.num_scales, height, width)
        weighted = torch.cat(
            [m * weights[:, k : k + 1] for k, m in enumerate(context_maps)], dim=1
        )  # (B, S*l, h, w)
        mu, logvar = self.to_distribution(weighted).chunk(2, dim=1)
        bound, clamp = self.config.logvar_bound, self.config.logvar_clamp
        if bound > 0:
            logvar = bound * torch.tanh(logvar / bound)
        elif clamp > 0:  # keeps exp(logvar) finite early in training
            logvar = logvar.clamp(-clamp, clamp)
        if self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        else:
            z = mu
        return ContextOutput(mu=mu, logvar=logvar, z=z, scale_weights=weights)

    def _context_maps(self, features: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        current = features
        for index, conv in enumerate(self.context_convs):
            source = features if self.config.parallel else current
            weight = conv.weight
            if index == 0 and self.config.mask_center:
                weight = weight * self.center_mask
            current = self.activation(
                nn.functional.conv2d(
                    source, weight, conv.bias, padding=conv.padding, dilation=conv.dilation
                )
            )
            maps.append(current)
        return maps if self.config.multi_scale else maps[-1:]

    def receptive_fields(self) -> tuple[int, ...]:
        """Receptive field on F of each context map: (3, 7, 17) for the paper's CM."""
        fields, field = [], 1
        for conv in self.context_convs:
            extent = (conv.kernel_size[0] - 1) * conv.dilation[0]
            field = 1 + extent if self.config.parallel else field + extent
            fields.append(field)
        return tuple(fields)


def _conv_geometry(config: ContextualModuleConfig, index: int) -> dict[str, int]:
    """Kernel size, dilation and padding of the index-th context conv."""
    if config.layer == "pointwise":
        return {"kernel_size": 1, "dilation": 1, "padding": 0}
    if config.layer == "plain" or index >= len(config.dilations):
        return {"kernel_size": 3, "dilation": 1, "padding": 1}
    dilation = config.dilations[index]
    return {"kernel_size": 3, "dilation": dilation, "padding": dilation}


def residual_attention(features: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    """X = F + F * sigmoid(Z), the CM's output (B, l, h, w), from F and Z of that shape."""
    return features + features * torch.sigmoid(code)
