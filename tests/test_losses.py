import math

import pytest
import torch

from cagnet import losses


def test_classification_loss_by_hand():
    logits = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([0, 1])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(0.5)) / 2
    assert losses.classification_loss(logits, labels).item() == pytest.approx(expected)
    assert losses.classification_loss(logits[:0], labels[:0]).item() == 0.0


def test_lsgan_by_hand():
    real, fake = torch.tensor([0.8, 0.6]), torch.tensor([0.3])
    d = losses.discriminator_adversarial_loss(real, fake, "lsgan")
    assert d.item() == pytest.approx(0.3**2 + (0.2**2 + 0.4**2) / 2)
    assert losses.discriminator_adversarial_loss(None, fake).item() == pytest.approx(0.09)
    assert losses.generator_adversarial_loss(fake).item() == pytest.approx(0.49)


def test_l1_adversarial_by_hand():
    real, fake = torch.tensor([0.8]), torch.tensor([0.3])
    assert losses.discriminator_adversarial_loss(real, fake, "l1").item() == pytest.approx(0.5)
    assert losses.generator_adversarial_loss(fake, "l1").item() == pytest.approx(0.7)
    with pytest.raises(ValueError):
        losses.generator_adversarial_loss(fake, "wgan")


def test_reconstruction_by_hand():
    real = torch.tensor([[1.0, 2.0], [0.0, 0.0]])
    fake = torch.tensor([[0.0, 2.0], [0.0, 2.0]])
    assert losses.reconstruction_loss(real, fake).item() == pytest.approx((1 + 4) / 4)


def test_kl_matches_closed_form_and_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros(5, 3), torch.ones(5, 3))
    expected = torch.distributions.kl_divergence(posterior, prior).mean()
    assert losses.kl_loss(mu, logvar).item() == pytest.approx(expected.item(), rel=1e-5)
    assert losses.kl_loss(torch.zeros(2, 2), torch.zeros(2, 2)).item() == 0.0


def test_mmd_zero_for_identical_sets_and_grows_with_shift():
    torch.manual_seed(0)
    real = torch.randn(40, 4)
    labels = torch.randint(0, 3, (40,))
    assert losses.mmd_loss(real, real.clone(), labels).item() == pytest.approx(0.0, abs=1e-5)
    near = losses.mmd_loss(real, real + 0.5, labels).item()
    far = losses.mmd_loss(real, real + 5.0, labels).item()
    assert 0 < near < far


def test_mmd_matches_a_loop_over_classes():
    torch.manual_seed(1)
    real, fake = torch.randn(30, 3), torch.randn(30, 3)
    labels = torch.randint(0, 3, (30,))
    bandwidths = (2.0, 5.0)

    def kernel(a, b):
        d = torch.cdist(a, b).pow(2)
        return sum(torch.exp(-d / (2 * s**2)) for s in bandwidths)

    per_class = []
    for c in labels.unique():
        x, y = real[labels == c], fake[labels == c]
        per_class.append(kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean())
    expected = torch.stack(per_class).mean()
    got = losses.mmd_loss(real, fake, labels, bandwidths, max_pixels_per_class=1000)
    assert got.item() == pytest.approx(expected.item(), rel=1e-5)


def test_balanced_reconstruction_weights_classes_equally():
    real = torch.zeros(4, 2)
    fake = torch.tensor([[1.0, 1.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])
    labels = torch.tensor([0, 1, 1, 1])
    # class 0: error 1; class 1: error 0 -> mean over classes 0.5 (plain mean: 0.25)
    assert losses.balanced_reconstruction_loss(real, fake, labels).item() == pytest.approx(0.5)
    assert losses.reconstruction_loss(real, fake).item() == pytest.approx(0.25)


@pytest.mark.parametrize("kind", ["lsgan", "l1"])
def test_adversarial_losses_are_zero_on_a_batch_without_labelled_pixels(kind):
    # A crop with no labelled pixel (e.g. VOC's background ignored) gives empty score tensors.
    empty = torch.zeros(0, requires_grad=True)
    for value in (
        losses.discriminator_adversarial_loss(empty, empty, kind),
        losses.discriminator_adversarial_loss(None, empty, kind),
        losses.generator_adversarial_loss(empty, kind),
    ):
        assert value.item() == 0.0
