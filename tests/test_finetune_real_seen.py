"""loss.finetune_real_seen_weight: C also classifies real seen features in the finetuning step."""

import pytest
import torch
from helpers import small_overrides, tiny_model
from predict_helpers import GLOVE
from torch import nn

from cagnet.config import LossConfig, TrainConfig, load_config
from cagnet.data.split import ZeroShotSplit
from cagnet.errors import ConfigError
from cagnet.inference import Segmenter, export_model
from cagnet.methods import get_method
from cagnet.training.loop import train
from cagnet.training.optim import build_optimizers
from cagnet.training.schedule import FINETUNING, TRAINING
from cagnet.training.steps import Replicas, finetuning_step, frozen_real_features

SEEN, UNSEEN = (0, 1, 2), (3, 4)


def _model_with_batch_norm():
    """The tiny model with a BatchNorm after its conv: train and eval mode give other features."""
    model = tiny_model()
    backbone = model.encoder.backbone
    backbone.conv = nn.Sequential(backbone.conv, nn.BatchNorm2d(backbone.out_channels))
    return model


def _batch():
    torch.manual_seed(1)
    images = torch.randn(2, 3, 16, 16) * 3 + 1  # far from BatchNorm's initial statistics
    labels = torch.randint(0, 5, (2, 16, 16))
    return images, ZeroShotSplit(tuple("abcde"), UNSEEN).training_labels(labels)


def test_real_features_are_e_and_cm_in_eval_mode_and_change_nothing():
    model = _model_with_batch_norm()
    images, labels = _batch()
    state = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    model.train()
    features, targets = frozen_real_features(model, images, labels)
    assert model.encoder.training  # the mode is restored
    assert all(torch.equal(state[k], v) for k, v in model.encoder.state_dict().items())
    model.eval()
    expected = model.encoder(images).features.permute(0, 2, 3, 1).reshape(-1, 8)
    train_mode = model.train().encoder(images).features.permute(0, 2, 3, 1).reshape(-1, 8)
    low = labels[:, ::2, ::2].reshape(-1)  # stride 2: the label at each feature pixel
    keep = low != 255
    assert torch.allclose(features, expected[keep], atol=1e-6)
    assert not torch.allclose(features, train_mode[keep], atol=1e-3)  # eval mode mattered
    assert torch.equal(targets, low[keep]) and not torch.isin(targets, torch.tensor(UNSEEN)).any()


def _finetune(weight: float, steps: int) -> tuple[list[float], nn.Module]:
    model = tiny_model()
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    optimizers = build_optimizers(model, TrainConfig(lr_heads=0.01))
    config = LossConfig(classification_weight=0.0, finetune_real_seen_weight=weight)
    images, labels = _batch()
    logs = []
    for _ in range(steps):
        logs.append(
            finetuning_step(
                replicas,
                optimizers,
                64,
                SEEN,
                UNSEEN,
                (1.0, 1.0),
                config,
                True,
                real_batch=(images, labels),
            )
        )
    return logs, model


def _real_loss(model: nn.Module) -> float:
    features, targets = frozen_real_features(model, *_batch())
    with torch.no_grad():
        return float(nn.functional.cross_entropy(model.heads(features).logits, targets))


def test_the_real_term_trains_c_on_real_seen_pixels():
    with_term, trained = _finetune(1.0, 60)
    without_term, control = _finetune(0.0, 60)
    assert "ft_heads_cls_real" in with_term[0] and "ft_heads_cls_real" not in without_term[0]
    assert with_term[-1]["ft_heads_cls_real"] < 0.7 * with_term[0]["ft_heads_cls_real"]
    assert _real_loss(trained) < 0.7 * _real_loss(control)


def test_a_positive_weight_needs_real_images():
    model = tiny_model()
    replicas = Replicas(model, model.encoder, model.generator, model.heads)
    optimizers = build_optimizers(model, TrainConfig())
    config = LossConfig(finetune_real_seen_weight=1.0)
    with pytest.raises(ValueError, match="needs a real_batch"):
        finetuning_step(replicas, optimizers, 16, SEEN, UNSEEN, (1.0, 1.0), config)
    with pytest.raises(ConfigError, match=r"finetune_real_seen_weight=-1\.0"):
        LossConfig(finetune_real_seen_weight=-1.0)


def test_finetuning_reads_images_only_with_the_option_and_adapting_needs_none(tmp_path):
    method = get_method("cagnet")
    off = load_config(None, [])
    on = load_config(None, ["loss.finetune_real_seen_weight=0.5"])
    assert method.reads_images(TRAINING, off) and method.reads_images(TRAINING, on)
    assert not method.reads_images(FINETUNING, off) and method.reads_images(FINETUNING, on)
    overrides = small_overrides(tmp_path, iterations=4) + GLOVE
    overrides.append("loss.finetune_real_seen_weight=0.5")
    result = train(load_config(None, overrides), run_dir=tmp_path / "run", progress=False)
    header = (result.run_dir / "losses.csv").read_text().splitlines()[0].split(",")
    assert "ft_heads_cls_real" in header
    # New names: C is retrained on generated features alone (no training images at hand).
    segmenter = Segmenter.load(export_model(result.run_dir), cache_dir=tmp_path / "cache")
    assert segmenter.network(["sky", "zebra"]).model.heads.classifier.weight.shape[0] == 2
