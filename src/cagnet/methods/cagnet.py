"""CaGNet as a method: training and finetuning steps alternating (section 3.4)."""

from typing import Any

import torch
from torch import nn

from cagnet.config import Config
from cagnet.errors import ConfigError
from cagnet.methods.base import Method, StepInputs
from cagnet.models.backbones import build_backbone
from cagnet.models.cagnet import CaGNet, ContextEncoder
from cagnet.models.contextual_module import ContextualModule
from cagnet.models.generator import Generator, span_basis
from cagnet.models.heads import SharedHeads
from cagnet.models.neck import build_neck
from cagnet.training import distributed
from cagnet.training.optim import build_optimizers, set_learning_rates
from cagnet.training.schedule import FINETUNING, TRAINING, alternating, phase
from cagnet.training.steps import Replicas, finetuning_step, training_step


def build_cagnet(config: Config, embeddings: torch.Tensor) -> CaGNet:
    """CaGNet with its parts switched on or off by ``config.model`` (Tables 2-4 switches)."""
    model_config = config.model
    backbone = build_backbone(model_config.backbone)
    neck = build_neck(backbone.out_channels, model_config.neck)
    channels = backbone.out_channels if neck is None else neck.out_channels
    contextual = (
        ContextualModule(channels, model_config.contextual)
        if model_config.use_contextual_module
        else None
    )
    encoder = ContextEncoder(backbone, contextual, residual=model_config.residual, neck=neck)
    generator = (
        Generator(
            latent_dim=channels,
            embedding_dim=embeddings.shape[1],
            feature_dim=channels,
            hidden=model_config.generator_hidden,
            dropout=model_config.generator_dropout,
            embedding_basis=span_basis(embeddings.float()) if model_config.generator_span else None,
        )
        if model_config.use_generator
        else None
    )
    heads = SharedHeads(
        channels, embeddings.shape[0], model_config.heads_hidden, model_config.heads_dropout
    )
    return CaGNet(encoder, generator, heads, embeddings)


class CaGNetMethod(Method):
    """E, CM, G, D and C trained jointly, then alternating with finetuning on generated features."""

    name = "cagnet"

    def check_config(self, config: Config) -> None:
        if config.model.use_discriminator and not config.model.use_generator:
            raise ConfigError(
                "model.use_discriminator=true needs model.use_generator=true (D judges G's "
                "features); switch both off for Table 2's 'E & C' rows"
            )

    def build_model(self, config: Config, embeddings: torch.Tensor) -> nn.Module:
        self.check_config(config)
        return build_cagnet(config, embeddings)

    def build_optimizers(self, model: nn.Module, config: Config) -> Any:
        return build_optimizers(model, config.train)

    def set_learning_rates(self, optimizers: Any, config: Config, iteration: int) -> float:
        past_pretraining = alternating(iteration, config.train, optimizers.generator is not None)
        return set_learning_rates(optimizers, config.train, iteration, past_pretraining)

    def replicate(self, model: nn.Module, context, device: torch.device) -> Replicas:
        return Replicas(
            model=model,
            encoder=distributed.wrap(model.encoder, context, device),
            generator=distributed.wrap(model.generator, context, device),
            heads=distributed.wrap(model.heads, context, device),
        )

    def phase(self, iteration: int, config: Config, model: nn.Module) -> str:
        return phase(iteration, config.train, has_generator=model.generator is not None)

    def reads_images(self, phase_name: str, config: Config) -> bool:
        return phase_name == TRAINING or config.loss.finetune_real_seen_weight != 0.0

    def step(self, phase_name: str, inputs: StepInputs) -> dict[str, float]:
        config = inputs.config
        if phase_name == FINETUNING:
            return finetuning_step(
                inputs.replicas,
                inputs.optimizers,
                inputs.finetune_pixels,
                inputs.split.seen,
                inputs.split.unseen,
                inputs.ratio,
                config.loss,
                use_discriminator=config.model.use_discriminator,
                precision=inputs.precision,
                real_batch=None if inputs.images is None else (inputs.images, inputs.labels),
            )
        return training_step(
            inputs.replicas,
            inputs.optimizers,
            inputs.images,
            inputs.labels,
            config.loss,
            use_discriminator=config.model.use_discriminator,
            detach_generator_input=config.model.detach_generator_input,
            precision=inputs.precision,
        )
