"""1-D convolutional feature extractors for signals of shape (n, channels, length)."""

from __future__ import annotations

import itertools

import torch
from torch import nn


def _conv_block(in_channels, out_channels, kernel_size, *, stride=1, padding=0):
    return [
        nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
        nn.BatchNorm1d(out_channels),
        nn.ReLU(),
    ]


def _as_channels(x: torch.Tensor) -> torch.Tensor:
    # A batch of single-channel signals may come as (n, length).
    return x.unsqueeze(1) if x.ndim == 2 else x


class WDCNN(nn.Module):
    """Deep CNN with a wide first kernel, for raw vibration signals (WDCNN).

    The first convolution (kernel ``first_kernel``, stride ``first_stride``)
    acts as a learned filter bank that also shortens the signal; four blocks
    of 3-wide convolutions follow. Every convolution is followed by batch
    normalisation and ReLU, the first four blocks by max-pooling by 2. An
    adaptive average pooling to ``pooled_length`` positions makes the module
    accept any length ``>= min_length``, and a fully connected layer (with
    batch normalisation and ReLU) gives ``out_features`` features, as in [1]_.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input signal.
    n_filters : int, default=16
        Filters of the first convolution; the next blocks have ``2 n_filters``
        and ``4 n_filters`` (16, 32, 64, 64, 64 by default, as in [1]_).
    first_kernel : int, default=64
        Width of the first kernel.
    first_stride : int, default=16
        Stride of the first convolution.
    pooled_length : int, default=4
        Positions kept by the final adaptive pooling (4 for 1024-long inputs
        equals no pooling).
    out_features : int, default=100
        Width of the output layer.
    dropout : float, default=0.0
        Dropout before the output layer.

    Attributes
    ----------
    out_features : int
    min_length : int
        Shortest input length the module accepts.

    References
    ----------
    .. [1] W. Zhang, G. Peng, C. Li, Y. Chen and Z. Zhang, "A new deep learning
       model for fault diagnosis with good anti-noise and domain adaptation
       ability on raw vibration signals", Sensors 17(2):425, 2017.
    """

    def __init__(
        self,
        in_channels: int = 1,
        *,
        n_filters: int = 16,
        first_kernel: int = 64,
        first_stride: int = 16,
        pooled_length: int = 4,
        out_features: int = 100,
        dropout: float = 0.0,
    ):
        super().__init__()
        if first_stride > first_kernel:
            raise ValueError(
                f"first_stride ({first_stride}) must not exceed first_kernel "
                f"({first_kernel})."
            )
        padding = (first_kernel - first_stride) // 2
        widths = [n_filters, 2 * n_filters, 4 * n_filters, 4 * n_filters]
        # ceil_mode keeps a length of 1 at 1, so short inputs never vanish.
        layers = _conv_block(
            in_channels, n_filters, first_kernel, stride=first_stride, padding=padding
        )
        layers.append(nn.MaxPool1d(2, ceil_mode=True))
        for w_in, w_out in itertools.pairwise(widths):
            layers += _conv_block(w_in, w_out, 3, padding=1)
            layers.append(nn.MaxPool1d(2, ceil_mode=True))
        layers += _conv_block(widths[-1], widths[-1], 3, padding=1)
        layers.append(nn.AdaptiveAvgPool1d(pooled_length))
        self.features = nn.Sequential(*layers)
        fc = [nn.Flatten(), nn.Dropout(dropout)] if dropout > 0 else [nn.Flatten()]
        self.fc = nn.Sequential(
            *fc,
            nn.Linear(widths[-1] * pooled_length, out_features),
            nn.BatchNorm1d(out_features),
            nn.ReLU(),
        )
        self.out_features = out_features
        self.min_length = first_kernel - 2 * padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map signals ``(n, channels, length)`` or ``(n, length)`` to features."""
        return self.fc(self.features(_as_channels(x)))


class CNN1d(nn.Module):
    """Compact conv-BN-ReLU-pool stack for multichannel sensor signals.

    Three blocks ``Conv1d -> BatchNorm1d -> ReLU -> MaxPool1d(2)`` (dropout
    after the first), then adaptive average pooling to ``pooled_length``
    positions: the CNN backbone of the AdaTime benchmark [1]_. The output is
    ``out_channels * pooled_length`` features for any input length.

    Parameters
    ----------
    in_channels : int, default=1
        Channels of the input signal (e.g. 9 for UCI HAR).
    n_filters : int, default=64
        Filters of the first two blocks.
    out_channels : int, default=128
        Filters of the last block.
    kernel_size : int, default=8
        Kernel width of every block.
    dropout : float, default=0.5
        Dropout after the first block.
    pooled_length : int, default=1
        Positions kept by the final adaptive pooling.

    Attributes
    ----------
    out_features : int
        ``out_channels * pooled_length``.
    min_length : int
        Shortest input length the module accepts (1).

    References
    ----------
    .. [1] M. Ragab, E. Eldele, W. L. Tan, C.-S. Foo, Z. Chen, M. Wu, C.-K.
       Kwoh and X. Li, "ADATIME: A benchmarking suite for domain adaptation on
       time series data", ACM TKDD 17(8), 2023.
    """

    def __init__(
        self,
        in_channels: int = 1,
        *,
        n_filters: int = 64,
        out_channels: int = 128,
        kernel_size: int = 8,
        dropout: float = 0.5,
        pooled_length: int = 1,
    ):
        super().__init__()
        pad = kernel_size // 2
        widths = [in_channels, n_filters, n_filters, out_channels]
        layers = []
        for i, (w_in, w_out) in enumerate(itertools.pairwise(widths)):
            layers += _conv_block(w_in, w_out, kernel_size, padding=pad)
            layers.append(nn.MaxPool1d(2, stride=2, padding=1))
            if i == 0 and dropout > 0:
                layers.append(nn.Dropout(dropout))
        layers += [nn.AdaptiveAvgPool1d(pooled_length), nn.Flatten()]
        self.layers = nn.Sequential(*layers)
        self.out_features = out_channels * pooled_length
        self.min_length = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map signals ``(n, channels, length)`` or ``(n, length)`` to features."""
        return self.layers(_as_channels(x))


BACKBONES = {"wdcnn": WDCNN, "cnn1d": CNN1d}
"""Signal backbones selectable by name as ``feature_extractor``."""
