"""ZS3Net as a method: three stages, each a pure function of the iteration.

(a) ``segmentation`` (``train.pretrain_iterations``): E and the 1x1 classifier C over all K
    classes learn with cross-entropy on the seen pixels of training batches.
(b) ``generator`` (``zs3net.generator_iterations``): E frozen (eval mode, no gradient); the
    GMMN G(noise, w_c) learns to match, class by class, the real seen features of training
    batches with the MMD loss (kernels exp(-d^2 / (2 v)), v in 2..80, as the official code).
(c) ``classifier`` (``zs3net.classifier_iterations``): E and G frozen; C is re-initialised
    (fresh, as the official ``random_last_layer=True``) and trained on the real seen features
    of training batches plus generated unseen features, ``zs3net.unseen_ratio`` real seen :
    generated unseen pixels.

Differences from the official code (valeoai/ZS3), on purpose: it trains G and C in the same
loop and, for training images that show an unseen class, feeds C generated features laid out
on the image's unseen ground truth with a 100x loss weight on unseen classes; here unseen
labels never reach training, so the unseen pixels are drawn uniformly over the unseen classes
in a set proportion ("classes": |Cs|:|Cu|, i.e. an unseen class gets as many pixels as an
average seen class) and the unseen weight defaults to 1. Its noise is uniform in [0, 1); here
N(0, 1). Its loss is the square root of each class's MMD^2 with one G step per class and
image; here the mean MMD^2 over the classes of a batch, one step per batch.
"""

import dataclasses
import math
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from cagnet import losses
from cagnet.config import Config
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError
from cagnet.methods.base import Method, StepInputs
from cagnet.methods.spnet import OptimizedParts, step_updated
from cagnet.models.backbones import build_backbone
from cagnet.models.cagnet import ContextEncoder
from cagnet.models.generator import Generator
from cagnet.models.neck import build_neck
from cagnet.models.zs3net import ZS3Net
from cagnet.training import distributed
from cagnet.training.optim import build_optimizers, set_learning_rates
from cagnet.training.schedule import parse_ratio
from cagnet.training.steps import Optimizers, Precision, labelled_pixels

SEGMENTATION = "segmentation"
GENERATOR = "generator"
CLASSIFIER = "classifier"


class ZS3NetReplicas(NamedTuple):
    """The networks as the steps call them (DDP-wrapped where several processes run)."""

    model: ZS3Net
    encoder: nn.Module
    classifier: nn.Module
    generator: nn.Module


def check_schedule(config: Config) -> None:
    """ConfigError unless train.iterations is the sum of the three stages, or a ratio is bad."""
    train, zs3 = config.train, config.zs3net
    stages = (train.pretrain_iterations, zs3.generator_iterations, zs3.classifier_iterations)
    if min(stages) < 0 or train.iterations != sum(stages):
        raise ConfigError(
            f"model.method=zs3net runs train.pretrain_iterations ({stages[0]}) + "
            f"zs3net.generator_iterations ({stages[1]}) + zs3net.classifier_iterations "
            f"({stages[2]}) = {sum(stages)} iterations, but train.iterations="
            f"{train.iterations}; make train.iterations the sum (each stage >= 0)"
        )
    try:
        seen_share, _ = parse_ratio(zs3.unseen_ratio, 1, 1)
    except ValueError as error:
        raise ConfigError(str(error).replace("train.", "zs3net.")) from None
    if seen_share == 0:
        raise ConfigError(
            f"zs3net.unseen_ratio={zs3.unseen_ratio!r} leaves C no real seen pixels; ZS3Net "
            "trains C on real seen plus generated unseen features, e.g. '1:1' or 'classes'"
        )


def zs3net_phase(iteration: int, config: Config) -> str:
    """The stage of ``iteration`` (0-based): segmentation, then generator, then classifier."""
    if iteration < config.train.pretrain_iterations:
        return SEGMENTATION
    if iteration < config.train.pretrain_iterations + config.zs3net.generator_iterations:
        return GENERATOR
    return CLASSIFIER


def build_zs3net(config: Config, embeddings: torch.Tensor) -> ZS3Net:
    """E from ``model.backbone``, C over all K classes and the GMMN G of ``config.zs3net``."""
    zs3 = config.zs3net
    backbone = build_backbone(config.model.backbone)
    encoder = ContextEncoder(
        backbone, None, residual=False, neck=build_neck(backbone.out_channels, config.model.neck)
    )
    channels = encoder.feature_dim
    generator = Generator(
        latent_dim=zs3.noise_dim,
        embedding_dim=embeddings.shape[1],
        feature_dim=channels,
        hidden=zs3.generator_hidden,
        dropout=zs3.generator_dropout,
    )
    for layer in generator.modules():  # the official GMMN's init
        if isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.constant_(layer.bias, 0.01)
    classifier = nn.Linear(channels, embeddings.shape[0])
    return ZS3Net(encoder, classifier, generator, embeddings)


def segmentation_step(
    replicas: ZS3NetReplicas,
    optimizers: Optimizers,
    images: torch.Tensor,
    labels: torch.Tensor,
    precision: Precision,
) -> dict[str, float]:
    """Stage (a): cross-entropy over all K classes on seen pixels; E and C are updated."""
    with precision.autocast(images.device):
        pixels, targets = labelled_pixels(replicas.encoder(images).features, labels)
        logits = replicas.classifier(pixels).float()
    loss = losses.classification_loss(logits, targets)
    optimizers.segmentation.zero_grad(set_to_none=True)
    optimizers.heads.zero_grad(set_to_none=True)
    precision.backward(loss)
    step_updated(precision, optimizers.segmentation, optimizers.heads)
    return {"loss_cls": float(loss.detach()), "labelled_pixels": float(targets.numel())}


@torch.no_grad()
def frozen_features(
    model: ZS3Net, images: torch.Tensor, labels: torch.Tensor, precision: Precision
) -> tuple[torch.Tensor, torch.Tensor]:
    """Labelled real features (N, l) and labels (N,) from the frozen E (eval mode, no grad)."""
    model.encoder.eval()
    with precision.autocast(images.device):
        pixels, targets = labelled_pixels(model.encoder(images).features, labels)
    return pixels.float(), targets


def generator_step(
    replicas: ZS3NetReplicas,
    optimizers: Optimizers,
    images: torch.Tensor,
    labels: torch.Tensor,
    config: Config,
    precision: Precision,
) -> dict[str, float]:
    """Stage (b): G matches the real seen features of each class (MMD); only G is updated."""
    zs3 = config.zs3net
    real, targets = frozen_features(replicas.model, images, labels, precision)
    noise = torch.randn(targets.numel(), zs3.noise_dim, device=real.device)
    with precision.autocast(images.device):
        fake = replicas.generator(noise, replicas.model.class_embeddings[targets]).float()
    bandwidths = tuple(math.sqrt(v) for v in zs3.mmd_kernel_variances)
    loss = losses.mmd_loss(real, fake, targets, bandwidths, zs3.mmd_pixels_per_class)
    optimizers.generator.zero_grad(set_to_none=True)
    precision.backward(loss)
    step_updated(precision, optimizers.generator)
    return {"loss_mmd": float(loss.detach())}


def reset_classifier(model: ZS3Net, optimizer: torch.optim.Optimizer, seed: int) -> None:
    """A fresh C (PyTorch's default init, drawn from ``seed`` so that every DDP rank and a
    resumed run draw the same weights) and a fresh optimiser state for it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fresh = nn.Linear(model.classifier.in_features, model.classifier.out_features)
    with torch.no_grad():
        model.classifier.weight.copy_(fresh.weight)
        model.classifier.bias.copy_(fresh.bias)
    optimizer.state.clear()


def unseen_pixel_count(num_seen: int, ratio: tuple[float, float], num_unseen: int) -> int:
    """Generated unseen pixels to go with ``num_seen`` real seen ones at ratio (r_s, r_u)."""
    if num_unseen == 0:
        return 0
    return round(num_seen * ratio[1] / ratio[0])


def classifier_step(
    replicas: ZS3NetReplicas,
    optimizers: Optimizers,
    images: torch.Tensor,
    labels: torch.Tensor,
    split: ZeroShotSplit,
    config: Config,
    precision: Precision,
) -> dict[str, float]:
    """Stage (c): C learns from real seen plus generated unseen features; E and G frozen.

    G keeps its dropout on while generating, as in the official code.
    """
    model = replicas.model
    real, targets = frozen_features(model, images, labels, precision)
    ratio = parse_ratio(config.zs3net.unseen_ratio, len(split.seen), len(split.unseen))
    count = unseen_pixel_count(targets.numel(), ratio, len(split.unseen))
    unseen = torch.as_tensor(split.unseen, dtype=torch.long, device=real.device)
    unseen_targets = unseen[torch.randint(max(1, len(unseen)), (count,), device=real.device)]
    with torch.no_grad(), precision.autocast(images.device):
        fake = model.generate(unseen_targets).float()
    pixels = torch.cat([real, fake])
    all_targets = torch.cat([targets, unseen_targets])
    weight = torch.ones(model.num_classes, device=real.device)
    weight[list(split.unseen)] = config.zs3net.unseen_class_weight
    with precision.autocast(images.device):
        logits = replicas.classifier(pixels).float()
    if all_targets.numel():
        loss = F.cross_entropy(logits, all_targets, weight=weight)
    else:
        loss = logits.sum() * 0.0
    optimizers.heads.zero_grad(set_to_none=True)
    precision.backward(loss)
    step_updated(precision, optimizers.heads)
    fraction = count / all_targets.numel() if all_targets.numel() else 0.0
    return {"classifier_loss": float(loss.detach()), "classifier_unseen_fraction": fraction}


class ZS3NetMethod(Method):
    """Segmentation network, then the GMMN, then the classifier retrained (see module doc)."""

    name = "zs3net"

    def check_config(self, config: Config) -> None:
        check_schedule(config)

    def build_model(self, config: Config, embeddings: torch.Tensor) -> nn.Module:
        self.check_config(config)
        return build_zs3net(config, embeddings)

    def build_optimizers(self, model: nn.Module, config: Config) -> Any:
        """SGD/Adam with poly decay for E, Adam for C (as CaGNet's heads), Adam for G."""
        optimizers = build_optimizers(
            OptimizedParts(model.encoder, None, model.classifier), config.train
        )
        lr = config.zs3net.lr_generator
        generator = torch.optim.Adam(
            [{"params": list(model.generator.parameters()), "base_lr": lr}], lr=lr
        )
        return optimizers._replace(generator=generator)

    def set_learning_rates(self, optimizers: Any, config: Config, iteration: int) -> float:
        """E's poly decay runs over stage (a) alone (E is frozen afterwards); C learns at
        ``train.lr_heads`` in stage (a) and at ``zs3net.lr_classifier`` in stage (c)."""
        stage_a = dataclasses.replace(config.train, iterations=config.train.pretrain_iterations)
        retraining = zs3net_phase(iteration, config) == CLASSIFIER
        for group in optimizers.heads.param_groups:
            group["lr"] = config.zs3net.lr_classifier if retraining else group["base_lr"]
        return set_learning_rates(optimizers, stage_a, iteration)

    def replicate(self, model: nn.Module, context, device: torch.device) -> ZS3NetReplicas:
        return ZS3NetReplicas(
            model=model,
            encoder=distributed.wrap(model.encoder, context, device),
            classifier=distributed.wrap(model.classifier, context, device),
            generator=distributed.wrap(model.generator, context, device),
        )

    def phase(self, iteration: int, config: Config, model: nn.Module) -> str:
        return zs3net_phase(iteration, config)

    def reads_images(self, phase_name: str, config: Config) -> bool:
        return True  # stages (b) and (c) read real seen features too

    def step(self, phase_name: str, inputs: StepInputs) -> dict[str, float]:
        replicas, optimizers, config = inputs.replicas, inputs.optimizers, inputs.config
        images, labels, precision = inputs.images, inputs.labels, inputs.precision
        if phase_name == SEGMENTATION:
            return segmentation_step(replicas, optimizers, images, labels, precision)
        if phase_name == GENERATOR:
            return generator_step(replicas, optimizers, images, labels, config, precision)
        first = config.train.pretrain_iterations + config.zs3net.generator_iterations
        if inputs.iteration == first:
            reset_classifier(replicas.model, optimizers.heads, config.seed + first)
        return classifier_step(
            replicas, optimizers, images, labels, inputs.split, config, precision
        )
