"""G(z, w) reading class embeddings in coordinates of their span (model.generator_span)."""

import torch

from cagnet.config import load_config
from cagnet.methods import METHODS
from cagnet.models.generator import Generator, span_basis


def unit_rows(count: int, dim: int, seed: int) -> torch.Tensor:
    rows = torch.randn(count, dim, generator=torch.Generator().manual_seed(seed))
    return rows / rows.norm(dim=1, keepdim=True)


def test_span_coordinates_keep_inner_products_in_rank_dimensions():
    rows = unit_rows(6, 40, seed=0)
    rows = torch.cat([rows, rows[:2] + rows[2:4]])  # 8 rows of rank 6
    basis = span_basis(rows)
    assert basis.shape == (40, 6)
    coordinates = rows @ basis
    assert torch.allclose(coordinates @ coordinates.T, rows @ rows.T, atol=1e-5)


def test_generator_in_span_coordinates_equals_full_width_layer_restricted_to_the_span():
    torch.manual_seed(0)
    latent_dim, rows = 5, unit_rows(4, 30, seed=1)
    basis = span_basis(rows)
    small = Generator(latent_dim, 30, 7, hidden=(16,), dropout=0.0, embedding_basis=basis)
    full = Generator(latent_dim, 30, 7, hidden=(16,), dropout=0.0)
    assert small.mlp[0].in_features == latent_dim + 4
    with torch.no_grad():  # the full layer's weights on w: the small one's, mapped back by Q^T
        weight = small.mlp[0].weight
        full.mlp[0].weight.copy_(
            torch.cat([weight[:, :latent_dim], weight[:, latent_dim:] @ basis.T], 1)
        )
        full.mlp[0].bias.copy_(small.mlp[0].bias)
        full.mlp[3].load_state_dict(small.mlp[3].state_dict())
    latent = torch.randn(10, latent_dim)
    outside = unit_rows(1, 30, seed=2)  # a new name's row: mostly outside the 4-d span
    for embedding in (rows[torch.arange(10) % 4], outside.expand(10, -1)):
        assert torch.allclose(small(latent, embedding), full(latent, embedding), atol=1e-5)


def test_cagnet_stores_the_basis_and_reloads_it(tmp_path):
    config = load_config(None, ["model.generator_span=true"])
    rows = unit_rows(16, 60, seed=3)
    model = METHODS["cagnet"].build_model(config, rows)
    state = model.state_dict()
    assert state["generator.embedding_basis"].shape == (60, 16)
    assert model.generator.mlp[0].in_features == model.generator.latent_dim + 16
    rebuilt = METHODS["cagnet"].build_model(config, unit_rows(16, 60, seed=4))
    rebuilt.load_state_dict(state)  # a model file's basis replaces the one built from new rows
    assert torch.equal(rebuilt.generator.embedding_basis, state["generator.embedding_basis"])
    plain = METHODS["cagnet"].build_model(load_config(None), rows)
    assert "generator.embedding_basis" not in plain.state_dict()  # old model files still load
