"""Adapt a trained model to any list of class names, with no images.

Known names reuse the model's own rows. When a name is new, each method adapts its own way:

* CaGNet: G makes features of every requested class (z ~ N(0, 1), the config's seen:unseen
  ratio; the model's seen classes count as seen, every other name as unseen) and C is
  retrained by the finetuning step of training (``cagnet.training.steps.finetuning_step``).
* SPNet: the class embeddings are the classifier, so the rows are swapped.
* ZS3Net: its GMMN generates features of every requested class and a fresh classifier is
  trained on them (cross-entropy, unseen classes weighted as in its config).
"""

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cagnet.config import Config
from cagnet.embeddings import ENCODERS, class_embeddings, embed_source
from cagnet.errors import CagnetError, EmbeddingError
from cagnet.models.cagnet import CaGNet
from cagnet.models.heads import SharedHeads
from cagnet.models.spnet import SPNet
from cagnet.models.zs3net import ZS3Net
from cagnet.training.label_maps import sample_generation_labels
from cagnet.training.optim import build_optimizers
from cagnet.training.schedule import parse_ratio
from cagnet.training.steps import Replicas, finetuning_step


class ClassNameError(CagnetError):
    """A requested class list is empty, has duplicates or a name that cannot be embedded."""


@dataclass(frozen=True)
class AdaptSettings:
    """How a classifier is retrained for new names.

    Attributes:
        steps: finetuning steps (CaGNet) or classifier steps (ZS3Net); 0 = one block of the
            run's alternation (``train.alternate_every``: 25 for configs/camvid.yaml).
        pixels: generated pixels per step; 0 = the run's own finetuning batch.
        seed: the generator seed, so one name set always gives the same classifier.
    """

    steps: int = 0
    pixels: int = 0
    seed: int = 0


def clean_names(classes: Sequence[str]) -> list[str]:
    """Stripped names; ClassNameError for an empty list, an empty name or a duplicate."""
    names = [str(name).strip() for name in classes]
    if not names:
        raise ClassNameError("the class list is empty; give at least one class name")
    if any(not name for name in names):
        raise ClassNameError(f"the class list {list(classes)} has an empty name")
    seen: set[str] = set()
    duplicates = sorted({n for n in names if n.lower() in seen or seen.add(n.lower())})
    if duplicates:
        raise ClassNameError(f"class names {duplicates} are given more than once; give each once")
    return names


# Encoders that embed any text (a subword tokenizer): not run just to say so.
OPEN_VOCABULARY = {"minilm": "any text"}


def encoders_knowing(name: str) -> list[str]:
    """The named encoders (``cagnet.embeddings.ENCODERS``) that can embed ``name``."""
    able = []
    for encoder in ENCODERS:
        if encoder in OPEN_VOCABULARY:
            able.append(f"{encoder} ({OPEN_VOCABULARY[encoder]})")
            continue
        try:
            embed_source(encoder, [name])
        except CagnetError:
            continue
        able.append(encoder)
    return able


def embed_new_names(config: Config, names: Sequence[str]) -> torch.Tensor:
    """(K, d) rows of ``names`` from the model's own embedding sources.

    Raises:
        ClassNameError: naming the word that no source of the model can embed and the
            encoders that could.
    """
    sources = list(config.embeddings.sources)
    for name in names:
        try:
            class_embeddings(sources, [name])
        except EmbeddingError as error:
            able = encoders_knowing(name)
            could = (
                f"encoders that can embed it: {able} (a model trained with that embedding "
                "could segment it)"
                if able
                else f"none of the encoders {list(ENCODERS)} can embed it"
            )
            raise ClassNameError(
                f"class name {name!r} cannot be embedded by this model's encoder {sources}: "
                f"{error}; {could}; try another word for it"
            ) from error
    return class_embeddings(sources, list(names))


def _generation_pixels(config: Config, model: nn.Module, settings: AdaptSettings) -> int:
    if settings.pixels:
        return settings.pixels
    if config.train.finetune_pixels:
        return config.train.finetune_pixels
    stride = getattr(model.encoder.backbone, "output_stride", 8)
    return config.train.batch_size * (-(-config.augment.crop_size // stride)) ** 2


def _fresh_linear(in_features: int, out_features: int, seed: int) -> nn.Linear:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Linear(in_features, out_features)


def adapt_cagnet(
    model: CaGNet,
    config: Config,
    embeddings: torch.Tensor,
    seen_mask: Sequence[bool],
    known: Sequence[int | None],
    settings: AdaptSettings,
) -> SharedHeads:
    """C and D retrained by finetuning steps on G's features (``settings.steps``; 0 = one
    block of the run's alternation, ``train.alternate_every``).

    Args:
        embeddings: (K', d) rows of the requested classes.
        seen_mask: (K',) whether each requested class is one of the model's seen classes.
        known: (K',) the model's index of each requested class (None = new): known classes
            start from their rows of the trained C, new ones from a seeded fresh init.

    Returns:
        New heads with a K'-way classifier (eval mode); the model is not changed.
    """
    device = model.class_embeddings.device
    heads = copy.deepcopy(model.heads).requires_grad_(True)
    hidden = heads.classifier.in_features
    heads.classifier = _fresh_linear(hidden, len(seen_mask), settings.seed).to(device)
    with torch.no_grad():  # known classes start from their trained rows, as in training
        for row, index in enumerate(known):
            if index is not None:
                heads.classifier.weight[row] = model.heads.classifier.weight[index]
                heads.classifier.bias[row] = model.heads.classifier.bias[index]
    generator = copy.deepcopy(model.generator).requires_grad_(True)
    working = CaGNet(model.encoder, generator, heads, embeddings.to(device))
    optimizers = build_optimizers(working, config.train)
    seen = [i for i, flag in enumerate(seen_mask) if flag]
    unseen = [i for i, flag in enumerate(seen_mask) if not flag]
    ratio = parse_ratio(config.train.unseen_ratio, len(seen), len(unseen))
    pixels = _generation_pixels(config, model, settings)
    replicas = Replicas(model=working, encoder=model.encoder, generator=generator, heads=heads)
    heads.train()
    generator.train()
    # No training images here: C learns from generated features only, even for a run trained
    # with loss.finetune_real_seen_weight > 0.
    generated_only = dataclasses.replace(config.loss, finetune_real_seen_weight=0.0)
    devices = [] if device.type == "cpu" else [device]
    with torch.enable_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(settings.seed)
        for _ in range(settings.steps or config.train.alternate_every):
            finetuning_step(
                replicas,
                optimizers._replace(segmentation=None),
                pixels,
                seen,
                unseen,
                ratio,
                generated_only,
                use_discriminator=config.model.use_discriminator,
            )
    heads.requires_grad_(False)
    return heads.eval()


def adapt_zs3net(
    model: ZS3Net,
    config: Config,
    embeddings: torch.Tensor,
    seen_mask: Sequence[bool],
    settings: AdaptSettings,
) -> nn.Linear:
    """A fresh K'-way classifier trained on the GMMN's features of every requested class."""
    device = model.class_embeddings.device
    classifier = _fresh_linear(model.classifier.in_features, len(seen_mask), settings.seed)
    classifier = classifier.to(device)
    generator = copy.deepcopy(model.generator).train()  # dropout on, as in training stage (c)
    optimizer = torch.optim.Adam(classifier.parameters(), lr=config.train.lr_heads)
    seen = [i for i, flag in enumerate(seen_mask) if flag]
    unseen = [i for i, flag in enumerate(seen_mask) if not flag]
    ratio = parse_ratio(config.zs3net.unseen_ratio, len(seen), len(unseen))
    weight = torch.ones(len(seen_mask), device=device)
    weight[unseen] = config.zs3net.unseen_class_weight
    pixels = _generation_pixels(config, model, settings)
    devices = [] if device.type == "cpu" else [device]
    with torch.enable_grad(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(settings.seed)
        for _ in range(settings.steps or config.train.alternate_every):
            targets = sample_generation_labels(pixels, seen, unseen, ratio, device)
            noise = torch.randn(pixels, generator.latent_dim, device=device)
            with torch.no_grad():
                fake = generator(noise, embeddings.to(device)[targets])
            loss = F.cross_entropy(classifier(fake), targets, weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return classifier.requires_grad_(False).eval()


def adapted_model(
    model: nn.Module,
    config: Config,
    embeddings: torch.Tensor,
    seen_mask: Sequence[bool],
    known: Sequence[int | None],
    settings: AdaptSettings,
    head_state: dict[str, torch.Tensor] | None = None,
) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """A model with the same encoder that scores the requested classes.

    Args:
        embeddings: (K', d) rows of the requested classes.
        known: (K',) the model's own index of each requested class, None for a new name.
        head_state: a cached result of an earlier call with the same names (skips training).

    Returns:
        (the model, the state of its new classifier part: what the cache stores).
    """
    device = model.class_embeddings.device
    embeddings = embeddings.to(device)
    all_known = all(index is not None for index in known)
    rows = torch.as_tensor([i if i is not None else 0 for i in known], device=device)
    if isinstance(model, SPNet):  # the embeddings are the classifier: swap the rows
        return SPNet(model.encoder, model.projection, embeddings), {}
    if isinstance(model, CaGNet):
        heads = copy.deepcopy(model.heads)
        if head_state is not None:
            heads.classifier = nn.Linear(heads.classifier.in_features, len(known)).to(device)
            heads.load_state_dict(head_state)
        elif all_known:  # the rows of the model's own C, nothing retrained
            old = heads.classifier
            heads.classifier = nn.Linear(old.in_features, len(known)).to(device)
            with torch.no_grad():
                heads.classifier.weight.copy_(old.weight[rows])
                heads.classifier.bias.copy_(old.bias[rows])
        else:
            heads = adapt_cagnet(model, config, embeddings, seen_mask, known, settings)
        heads = heads.eval().requires_grad_(False)
        return CaGNet(model.encoder, None, heads, embeddings), heads.state_dict()
    if isinstance(model, ZS3Net):
        old = model.classifier
        if head_state is not None:
            classifier = nn.Linear(old.in_features, len(known)).to(device)
            classifier.load_state_dict(head_state)
        elif all_known:
            classifier = nn.Linear(old.in_features, len(known)).to(device)
            with torch.no_grad():
                classifier.weight.copy_(old.weight[rows])
                classifier.bias.copy_(old.bias[rows])
        else:
            classifier = adapt_zs3net(model, config, embeddings, seen_mask, settings)
        classifier.requires_grad_(False)
        model_out = ZS3Net(model.encoder, classifier, model.generator, embeddings)
        return model_out, classifier.state_dict()
    raise TypeError(f"no adaptation for a {type(model).__name__}")


def known_rows(own: Sequence[str], requested: Sequence[str]) -> list[int | None]:
    """The model's index of each requested name (case-insensitive), None for a new one."""
    lookup = {name.lower(): index for index, name in enumerate(own)}
    return [lookup.get(name.lower()) for name in requested]


def requested_embeddings(
    own_rows: torch.Tensor, config: Config, requested: Sequence[str], known: Sequence[int | None]
) -> torch.Tensor:
    """(K', d): the stored rows of known names, the model's encoder's rows for new ones."""
    new = [name for name, index in zip(requested, known, strict=True) if index is None]
    new_rows = embed_new_names(config, new) if new else None
    rows, k = [], 0
    for index in known:
        if index is not None:
            rows.append(own_rows[index].detach().cpu().float())
        else:
            rows.append(new_rows[k])
            k += 1
    if new_rows is not None and new_rows.shape[1] != own_rows.shape[1]:
        raise EmbeddingError(
            f"the encoder gives {new_rows.shape[1]}-d rows but the model has {own_rows.shape[1]}"
        )
    return torch.stack(rows).to(own_rows.dtype) if rows else torch.zeros(0)


__all__ = [
    "AdaptSettings",
    "ClassNameError",
    "adapted_model",
    "clean_names",
    "embed_new_names",
    "known_rows",
    "requested_embeddings",
]
