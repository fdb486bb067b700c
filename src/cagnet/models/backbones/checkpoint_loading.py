"""Load pretrained weights into a backbone from DeepLab v2 or torchvision-style checkpoints.

Our ResNet trunk uses torchvision's names (``conv1``, ``bn1``, ``layer1.0.conv1``,
``layer1.0.downsample.0``; see ``resnet.py``) under the backbone's ResNet submodule
(``resnet.``), and the DeepLab v2 ASPP is ``aspp.branches.{i}``. Checkpoint keys are
translated as follows, after removing wrapper prefixes (``module.`` from DataParallel,
``back.`` from the CaGNet model, ``scale.``/``Scale.`` from the multi-scale wrappers,
``base.``, ``backbone.``, ``model.``):

* kazuto1011/deeplab-pytorch, used by SPNet and the official CaGNet code (the name of
  ``deeplabv2_resnet101_init.pth`` comes from there): ``layer1.conv1.{conv,bn}`` is the stem,
  ``layer{2..5}.block{j}.{reduce,conv3x3,increase}.{conv,bn}`` are the bottlenecks of our
  ``layer{1..4}.{j-1}``, ``proj``/``shortcut`` is ``downsample``, ``aspp.stages.c{i}`` /
  ``aspp.c{i}`` is ASPP branch i.
* isht7/pytorch-deeplab-resnet ("MS_DeepLab", ``Scale.conv1.weight``): torchvision names,
  plus ``layer5.conv2d_list.{i}`` for ASPP branch i.
* torchvision ImageNet ResNet: names as is; ``fc.*`` is ignored.

Keys that already match the backbone (e.g. its own state dict) load directly.
"""

import pickle
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cagnet.errors import CheckpointError
from cagnet.models.backbones.deeplabv2 import SummedASPP
from cagnet.models.backbones.multiscale import MultiScaleBackbone
from cagnet.models.backbones.resnet import ResNet

WRAPPER_PREFIXES = ("module.", "back.", "scale.", "Scale.", "base.", "backbone.", "model.")
_KAZUTO_STEM = re.compile(r"^layer1\.conv1\.(conv|bn)\.(\w+)$")
_KAZUTO_BLOCK = re.compile(
    r"^layer([2-5])\.block(\d+)\.(reduce|conv3x3|increase|proj|shortcut)\.(conv|bn)\.(\w+)$"
)
_KAZUTO_ASPP = re.compile(r"^aspp\.(?:stages\.)?c(\d+)\.(weight|bias)$")
_ISHT7_ASPP = re.compile(r"^layer5\.conv2d_list\.(\d+)\.(weight|bias)$")
_TORCHVISION_TRUNK = re.compile(r"^(conv1|bn1|layer[1-4]\.\d+)\.")
_KAZUTO_UNIT = {"reduce": "1", "conv3x3": "2", "increase": "3"}
_IGNORED = re.compile(r"(^fc\.|num_batches_tracked$)")


@dataclass
class LoadReport:
    """What ``load_backbone_weights`` did.

    Attributes:
        source: the file (or "<state dict>").
        loaded: backbone keys that received a checkpoint tensor.
        missing: backbone keys that received nothing (BN step counters not listed).
        unexpected: checkpoint keys with no place in the backbone.
        shape_mismatch: backbone keys whose checkpoint tensor had another shape (not loaded).
        ignored: checkpoint keys skipped on purpose (ImageNet classifier, BN step counters).
        mismatched_shapes: backbone key -> (checkpoint shape, backbone shape).
    """

    source: str
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape_mismatch: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    mismatched_shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = field(
        default_factory=dict
    )

    def summary(self) -> str:
        """One paragraph: counts, and the first few keys of every non-empty problem list."""
        lines = [
            f"{self.source}: loaded {len(self.loaded)} tensors, missing {len(self.missing)}, "
            f"unexpected {len(self.unexpected)}, shape mismatch {len(self.shape_mismatch)}, "
            f"ignored {len(self.ignored)}"
        ]
        for name, keys in (("missing", self.missing), ("unexpected", self.unexpected)):
            if keys:
                lines.append(f"  {name}: {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}")
        for key in self.shape_mismatch[:5]:
            checkpoint_shape, model_shape = self.mismatched_shapes[key]
            lines.append(
                f"  shape mismatch {key}: checkpoint {checkpoint_shape} vs model {model_shape}"
            )
        return "\n".join(lines)


def _read(path_or_state_dict: str | Path | Mapping[str, object]) -> tuple[dict, str]:
    """The raw key -> value mapping and a name for messages."""
    if isinstance(path_or_state_dict, Mapping):
        state, source = dict(path_or_state_dict), "<state dict>"
    else:
        path = Path(path_or_state_dict)
        if not path.is_file():
            raise CheckpointError(f"backbone checkpoint not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except (RuntimeError, OSError, EOFError, ValueError, pickle.UnpicklingError) as error:
            raise CheckpointError(
                f"cannot read backbone checkpoint {path}: {error}; it must be a torch.save'd "
                "state dict (tensors only)"
            ) from error
        source = str(path)
        if not isinstance(state, Mapping):
            raise CheckpointError(f"{path} holds a {type(state).__name__}, not a state dict")
    for container in ("state_dict", "model"):
        if isinstance(state.get(container), Mapping):
            state = dict(state[container])
    return state, source


def _strip_wrappers(key: str) -> str:
    stripped = True
    while stripped:
        stripped = False
        for prefix in WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, stripped = key[len(prefix) :], True
    return key


def _translate(key: str, resnet_prefix: str | None, aspp_prefix: str | None) -> str | None:
    """Our backbone key for a wrapper-free checkpoint key, or None."""
    if match := _KAZUTO_STEM.match(key):
        trunk_key = f"{match[1]}1.{match[2]}"
    elif match := _KAZUTO_BLOCK.match(key):
        layer, block, unit, kind, tensor = match.groups()
        prefix = f"layer{int(layer) - 1}.{int(block) - 1}."
        if unit in ("proj", "shortcut"):
            trunk_key = f"{prefix}downsample.{0 if kind == 'conv' else 1}.{tensor}"
        else:
            trunk_key = f"{prefix}{kind}{_KAZUTO_UNIT[unit]}.{tensor}"
    elif match := _KAZUTO_ASPP.match(key) or _ISHT7_ASPP.match(key):
        return None if aspp_prefix is None else f"{aspp_prefix}branches.{match[1]}.{match[2]}"
    elif _TORCHVISION_TRUNK.match(key):
        trunk_key = key
    else:
        return None
    return None if resnet_prefix is None else resnet_prefix + trunk_key


def _prefix_of(module: nn.Module, kind: type) -> str | None:
    for name, child in module.named_modules():
        if isinstance(child, kind):
            return f"{name}." if name else ""
    return None


def load_backbone_weights(
    backbone: nn.Module, path_or_state_dict: str | Path | Mapping[str, object]
) -> LoadReport:
    """Copy every checkpoint tensor that has a place (and the right shape) in the backbone.

    Args:
        backbone: the backbone to fill (a ``MultiScaleBackbone`` fills its inner backbone).
        path_or_state_dict: a checkpoint file, or an already loaded state dict; a
            ``{"state_dict": ...}`` or ``{"model": ...}`` wrapper is opened.

    Returns:
        The LoadReport (tensors of mismatching shape, e.g. an ASPP with another number of
        outputs, are reported and left untouched).

    Raises:
        CheckpointError: the file is missing or unreadable, or no tensor matched.
    """
    if isinstance(backbone, MultiScaleBackbone):
        backbone = backbone.backbone
    state, source = _read(path_or_state_dict)
    target = backbone.state_dict()
    resnet_prefix = _prefix_of(backbone, ResNet)
    aspp_prefix = _prefix_of(backbone, SummedASPP)
    report = LoadReport(source)
    selected: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key if key in target else _strip_wrappers(key)
        if not isinstance(value, torch.Tensor) or _IGNORED.search(name):
            report.ignored.append(key)
            continue
        if name not in target:
            name = _translate(name, resnet_prefix, aspp_prefix)
        if name is None or name not in target:
            report.unexpected.append(key)
        elif value.shape != target[name].shape:
            report.shape_mismatch.append(name)
            report.mismatched_shapes[name] = (tuple(value.shape), tuple(target[name].shape))
        else:
            selected[name] = value
    if not selected:
        raise CheckpointError(
            f"no tensor of {source} fits the {type(backbone).__name__} backbone; checkpoint "
            f"keys look like {list(state)[:3]}, the backbone expects keys like {list(target)[:3]}"
        )
    backbone.load_state_dict(selected, strict=False)
    report.loaded = list(selected)
    report.missing = [
        key for key in target if key not in selected and not key.endswith("num_batches_tracked")
    ]
    return report
