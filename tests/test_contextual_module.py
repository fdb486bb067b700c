import pytest
import torch

from cagnet.errors import ConfigError
from cagnet.models.contextual_module import (
    ContextualModule,
    ContextualModuleConfig,
    residual_attention,
)


def test_output_shapes():
    module = ContextualModule(8)
    out = module(torch.randn(2, 8, 10, 12))
    assert out.mu.shape == out.logvar.shape == out.z.shape == (2, 8, 10, 12)
    assert out.scale_weights.shape == (2, 3, 10, 12)


def test_receptive_fields_of_the_paper_cm():
    assert ContextualModule(4).receptive_fields() == (3, 7, 17)
    parallel = ContextualModule(4, ContextualModuleConfig(parallel=True))
    assert parallel.receptive_fields() == (3, 5, 11)


def test_receptive_field_measured_by_gradient():
    # The third context map at the centre must depend on exactly a 17x17 window of F.
    module = ContextualModule(2)
    features = torch.randn(1, 2, 41, 41, requires_grad=True)
    maps = module._context_maps(features)
    maps[2][0, :, 20, 20].sum().backward()
    rows, cols = features.grad[0].abs().sum(0).nonzero(as_tuple=True)
    assert rows.max() - rows.min() + 1 == 17 and cols.max() - cols.min() + 1 == 17


def test_selector_weights_differ_per_pixel_and_scale_maps():
    torch.manual_seed(0)
    module = ContextualModule(4)
    out = module(torch.randn(1, 4, 9, 9))
    weights = out.scale_weights[0]
    assert weights.min() >= 0 and weights.max() <= 1
    assert weights.flatten(1).std(dim=1).min() > 0  # not one weight for the whole image
    global_module = ContextualModule(4, ContextualModuleConfig(selector="global"))
    global_weights = global_module(torch.randn(1, 4, 9, 9)).scale_weights[0]
    assert torch.allclose(global_weights.flatten(1).std(dim=1), torch.zeros(3))


def test_selector_scales_each_context_map():
    # Zeroing the selector's output bias to -inf switches every scale off: mu = bias only.
    module = ContextualModule(4)
    with torch.no_grad():
        module.selector.weight.zero_()
        module.selector.bias.fill_(-1e4)
    module.eval()
    out = module(torch.randn(1, 4, 6, 6))
    expected = module.to_distribution.bias[:4].view(1, 4, 1, 1).expand(1, 4, 6, 6)
    assert torch.allclose(out.mu, expected, atol=1e-5)


def test_sampling_while_training_mean_at_test():
    module = ContextualModule(4)
    features = torch.randn(1, 4, 5, 5)
    module.train()
    out = module(features)
    assert not torch.allclose(out.z, out.mu)
    module.eval()
    out = module(features)
    assert torch.equal(out.z, out.mu)


def test_mask_center_keeps_centre_taps_out():
    module = ContextualModule(3, ContextualModuleConfig(mask_center=True))
    features = torch.zeros(1, 3, 7, 7, requires_grad=True)
    module._context_maps(features)[0][0, :, 3, 3].sum().backward()
    assert features.grad[0, :, 3, 3].abs().sum() == 0  # own pixel has no influence
    assert features.grad[0, :, 2, 3].abs().sum() > 0


def test_variants_change_parameter_count():
    paper = sum(p.numel() for p in ContextualModule(8).parameters())
    pointwise = sum(
        p.numel()
        for p in ContextualModule(8, ContextualModuleConfig(layer="pointwise")).parameters()
    )
    assert pointwise < paper


def test_unknown_layer_is_rejected():
    with pytest.raises(ConfigError, match="layer"):
        ContextualModule(4, ContextualModuleConfig(layer="fancy"))


def test_residual_attention():
    features = torch.tensor([[[[2.0]]]])
    code = torch.tensor([[[[0.0]]]])
    assert residual_attention(features, code).item() == pytest.approx(3.0)


def test_logvar_bound_is_smooth_and_keeps_the_variance_below_e_to_the_bound():
    torch.manual_seed(0)
    features = torch.randn(1, 4, 6, 6) * 50.0  # large inputs drive logvar far out
    bounded = ContextualModule(4, ContextualModuleConfig(logvar_bound=2.0)).eval()
    clamped = ContextualModule(4, ContextualModuleConfig()).eval()
    clamped.load_state_dict(bounded.state_dict())
    logvar = bounded(features).logvar
    raw = clamped(features).logvar
    assert raw.abs().max() > 2.0  # without the bound it leaves [-2, 2]
    assert logvar.abs().max() <= 2.0
    inside = raw.abs() < 10.0  # where the clamp did not cut
    expected = 2.0 * torch.tanh(raw / 2.0)
    torch.testing.assert_close(logvar[inside], expected[inside], atol=1e-4, rtol=0)


def test_detach_input_trains_the_code_but_keeps_its_losses_out_of_the_features():
    torch.manual_seed(0)
    for detach, reaches_features in ((False, True), (True, False)):
        module = ContextualModule(4, ContextualModuleConfig(detach_input=detach))
        features = torch.randn(2, 4, 6, 6, requires_grad=True)
        output = module(features)
        # An L_KL/L_REC-like loss on the code alone.
        (output.mu.square().mean() + output.logvar.exp().mean()).backward()
        assert module.to_distribution.weight.grad.abs().sum() > 0
        assert (features.grad is not None and features.grad.abs().sum() > 0) == reaches_features
        # The classification losses still reach F through X = F + F * sigmoid(Z).
        features.grad = None
        module.zero_grad()
        residual_attention(features, module(features).z).sum().backward()
        assert features.grad.abs().sum() > 0
        assert module.to_distribution.weight.grad.abs().sum() > 0
