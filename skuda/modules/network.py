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

    def forward(self, x, *, loss=None):
        """Return the class logits ``head(encoder(x))``, or the training losses.

        Parameters
        ----------
        x : Tensor
            Input rows.
        loss : callable, optional
            Training mode: return ``loss()``, a method's loss terms computed
            from this network's parts, instead of the logits. A data-parallel
            wrapper (``DistributedDataParallel``) around the network then sees
            every parameter the loss uses through this one call of its
            ``forward``, and synchronises all of their gradients.
        """
        if loss is not None:
            return loss()
        return self.head(self.encoder(x))
