"""2-D convolutional feature extractors for images of shape (n, channels, H, W)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LeNet(nn.Module):
    """LeNet-style CNN for small images such as digits.

    Two blocks ``Conv2d -> [BatchNorm2d] -> ReLU -> MaxPool2d(2)`` (20 and 50
    filters of 5x5), then a fully connected layer of ``out_features`` units
    with ReLU and dropout: the digits network of ADDA, CDAN, MCC and SHOT
    [1]_ [2]_, after LeNet-5 [3]_. As LeNet-5 reads 28x28 digits on a 32x32
    canvas, the first convolution pads its input by ``kernel_size // 2``
    pixels and the later ones do not pad: 16x16 images give 50 maps of 2x2
    (200 features), 28x28 ones 50 maps of 5x5.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input images (1 for grey levels, 3 for RGB).
    image_size : (int, int), default=(28, 28)
        Height and width of the input images; both at least ``min_size``.
    n_filters : sequence of int, default=(20, 50)
        Filters of each convolutional block (one block per entry).
    kernel_size : int, default=5
        Side of every (odd-sized) convolution kernel.
    out_features : int, default=500
        Width of the output layer.
    batch_norm : bool, default=True
        Batch normalisation after each convolution.
    dropout : float, default=0.5
        Dropout on the output features (and spatial dropout before the last
        pooling, as in the papers' LeNet).

    Attributes
    ----------
    out_features : int
    min_size : int
        Smallest image side the module accepts (12 by default).

    References
    ----------
    .. [1] E. Tzeng, J. Hoffman, K. Saenko and T. Darrell, "Adversarial
       discriminative domain adaptation", CVPR 2017.
    .. [2] J. Liang, D. Hu and J. Feng, "Do we really need to access the source
       data? Source hypothesis transfer for unsupervised domain adaptation",
       ICML 2020.
    .. [3] Y. LeCun, L. Bottou, Y. Bengio and P. Haffner, "Gradient-based
       learning applied to document recognition", Proc. IEEE 86(11), 1998.
    """

    def __init__(
        self,
        in_channels: int = 1,
        image_size: tuple[int, int] = (28, 28),
        *,
        n_filters: Sequence[int] = (20, 50),
        kernel_size: int = 5,
        out_features: int = 500,
        batch_norm: bool = True,
        dropout: float = 0.5,
    ):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(
                f"kernel_size must be a positive odd int; got {kernel_size}."
            )
        n_filters = tuple(n_filters)
        if not n_filters:
            raise ValueError("n_filters must name at least one convolutional block.")
        self.min_size = _min_size(len(n_filters), kernel_size)
        height, width = (int(s) for s in image_size)
        if min(height, width) < self.min_size:
            raise ValueError(
                f"LeNet with {len(n_filters)} blocks of {kernel_size}x{kernel_size} "
                f"kernels needs images of at least {self.min_size}x{self.min_size} "
                f"pixels; got image_size={(height, width)}."
            )
        layers, channels = [], in_channels
        for i, filters in enumerate(n_filters):
            pad = kernel_size // 2 if i == 0 else 0
            layers.append(nn.Conv2d(channels, filters, kernel_size, padding=pad))
            if batch_norm:
                layers.append(nn.BatchNorm2d(filters))
            if i == len(n_filters) - 1 and dropout > 0:
                layers.append(nn.Dropout2d(dropout))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            channels = filters
        self.features = nn.Sequential(*layers, nn.Flatten())
        pooled = _side(height, len(n_filters), kernel_size) * _side(
            width, len(n_filters), kernel_size
        )
        self.fc = nn.Sequential(
            nn.Linear(channels * pooled, out_features), nn.ReLU(), nn.Dropout(dropout)
        )
        self.out_features = out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map images ``(n, channels, H, W)`` to features ``(n, out_features)``."""
        return self.fc(self.features(x))


def _side(size, n_blocks, kernel_size):
    """Side of the last feature map: a padded first block, then valid ones."""
    size //= 2
    for _ in range(n_blocks - 1):
        size = (size - kernel_size + 1) // 2
    return size


def _min_size(n_blocks, kernel_size):
    """Smallest image side that leaves at least one position after every block."""
    size = 2
    while _side(size, n_blocks, kernel_size) < 1:
        size += 1
    return size


IMAGE_BACKBONES = {"lenet": LeNet}
"""Image backbones selectable by name as ``feature_extractor``."""
