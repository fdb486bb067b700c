"""The feature generator G(z, w), section 3.3: a per-pixel MLP (1x1 convs as linear layers)."""

from collections.abc import Sequence

import torch
from torch import nn


def span_basis(rows: torch.Tensor, tolerance: float = 1e-6) -> torch.Tensor:
    """An orthonormal basis of the span of the class embeddings.

    Args:
        rows: (K, d) class embeddings.
        tolerance: directions with a singular value below ``tolerance`` times the largest are
            dropped (repeated or dependent rows).

    Returns:
        (d, r) basis Q with r = rank(rows) <= K: ``rows @ Q`` has the same inner products
        (and norms) as ``rows``, in r coordinates instead of d.
    """
    _, singular, right = torch.linalg.svd(rows.double(), full_matrices=False)
    rank = int((singular > tolerance * singular.max()).sum())
    return right[:rank].T.to(rows.dtype).contiguous()


class Generator(nn.Module):
    """Makes a pixel feature from a latent code and a class embedding.

    Each hidden layer is linear -> LeakyReLU(0.2) -> dropout, as in section 4.2 (512 hidden units).
    With ``embedding_basis`` (see :func:`span_basis`), w enters as its coordinates in that
    basis: the first layer sees r inputs instead of d (cheaper when d >> K, e.g. 434-d rows of
    16 classes), and a row outside the span (a new class name at inference) is read as its
    projection onto it, the only part a layer trained on the K rows has weights for.
    """

    def __init__(
        self,
        latent_dim: int,
        embedding_dim: int,
        feature_dim: int,
        hidden: Sequence[int] = (512,),
        dropout: float = 0.2,
        embedding_basis: torch.Tensor | None = None,
    ):
        super().__init__()
        if embedding_basis is not None and embedding_basis.shape[0] != embedding_dim:
            raise ValueError(
                f"embedding_basis has {embedding_basis.shape[0]} rows, the embeddings "
                f"{embedding_dim} dimensions"
            )
        basis = None if embedding_basis is None else embedding_basis.float().clone()
        self.register_buffer("embedding_basis", basis)  # (d, r) or None (not in state_dict)
        layers: list[nn.Module] = []
        width = latent_dim + (embedding_dim if basis is None else basis.shape[1])
        for units in hidden:
            layers += [nn.Linear(width, units), nn.LeakyReLU(0.2), nn.Dropout(dropout)]
            width = units
        layers.append(nn.Linear(width, feature_dim))
        self.mlp = nn.Sequential(*layers)
        self.latent_dim = latent_dim

    def forward(self, latent: torch.Tensor, embedding: torch.Tensor) -> torch.Tensor:
        """Generate features.

        Args:
            latent: z, (N, latent_dim).
            embedding: w, (N, embedding_dim), the class embedding of each pixel.

        Returns:
            (N, feature_dim) generated pixel features.
        """
        if self.embedding_basis is not None:
            embedding = embedding @ self.embedding_basis.to(embedding.dtype)  # (N, r)
        return self.mlp(torch.cat([latent, embedding], dim=1))
