"""The container of a method's networks."""

from __future__ import annotations

from torch import nn


class DANetwork(nn.Module):
    """Container of a method's networks: ``encoder``, ``head`` and any extras.

    ``forward`` is the prediction path ``head(encoder(x))``; extra networks (a
    domain discriminator, ADDA's target encoder) are registered as submodules
    so that skorch moves, saves and (re)initialises them with the rest.

    Parameters
    ----------
    encoder : torch.nn.Module
        Feature extractor.
    head : torch.nn.Module
        Classifier on the encoder's features, returning logits.
    **extras : torch.nn.Module
        Further networks, registered under their keyword names.
    """

    def __init__(self, encoder: nn.Module, head: nn.Module, **extras: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head
        for name, module in extras.items():
            self.add_module(name, module)

    def forward(self, x):
        """Return the class logits ``head(encoder(x))``."""
        return self.head(self.encoder(x))
