"""Differentiable building blocks of linear target models, batched over sequences.

Every online learner of the zoo fits a linear convolution filter ``f`` ([F, C, kh, kw])
to the features ``x`` of a few memory frames. During training a batch holds several
sequences, each with its own filter, so the functions here take

- features ``[S, N, C, H, W]`` (S sequences, N frames each),
- filters ``[S, F, C, kh, kw]``,

and run as a single grouped convolution (one group per sequence) instead of a Python
loop. They are plain torch ops, so autograd differentiates through them and through any
learner unrolled on top (DiMP/LWL meta-training). A 4-D feature tensor [N, C, H, W] with
a 4-D filter [F, C, kh, kw] is accepted as the S = 1 case and returned without the S axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F


def default_padding(filter_size: Sequence[int]) -> tuple[int, int]:
    """``k // 2`` per axis: odd filters keep the feature size, even ones (DiMP's 4x4) add one."""
    return int(filter_size[0]) // 2, int(filter_size[1]) // 2


def _padding_pair(padding, filter_size) -> tuple[int, int]:
    if padding is None:
        return default_padding(filter_size)
    if isinstance(padding, int):
        return padding, padding
    if len(padding) != 2:
        raise ValueError(f"padding must be an int or a pair, got {padding!r}")
    return int(padding[0]), int(padding[1])


def _batched(feat: torch.Tensor, filt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, bool]:
    if feat.dim() == 4 and filt.dim() == 4:
        return feat.unsqueeze(0), filt.unsqueeze(0), True
    if feat.dim() != 5 or filt.dim() != 5:
        raise ValueError(
            "features/filters must be [S,N,C,H,W]/[S,F,C,kh,kw] (or both without S), "
            f"got {tuple(feat.shape)} and {tuple(filt.shape)}"
        )
    if feat.shape[0] != filt.shape[0] or feat.shape[2] != filt.shape[2]:
        raise ValueError(
            f"features {tuple(feat.shape)} and filters {tuple(filt.shape)} disagree on sequences or channels"
        )
    return feat, filt, False


def apply_filter(feat: torch.Tensor, filt: torch.Tensor, padding=None) -> torch.Tensor:
    """Scores ``[S, N, F, Ho, Wo]`` = correlation of each sequence's frames with its filter."""
    feat, filt, squeeze = _batched(feat, filt)
    num_seq, num_frames, channels, height, width = feat.shape
    _, num_filters, _, kh, kw = filt.shape
    pad = _padding_pair(padding, (kh, kw))
    stacked = feat.transpose(0, 1).reshape(num_frames, num_seq * channels, height, width)
    weight = filt.reshape(num_seq * num_filters, channels, kh, kw)
    out = F.conv2d(stacked, weight, padding=pad, groups=num_seq)
    out = out.reshape(num_frames, num_seq, num_filters, *out.shape[-2:]).transpose(0, 1)
    return out[0] if squeeze else out


def filter_gradient(
    feat: torch.Tensor, residual: torch.Tensor, filter_size: Sequence[int], padding=None
) -> torch.Tensor:
    """Adjoint of :func:`apply_filter` w.r.t. the filter: ``sum_n X_n^T r_n`` as ``[S, F, C, kh, kw]``.

    With ``residual = dLoss/dScores`` this is the loss gradient w.r.t. the filter; written as
    a forward convolution (features as the batch, residuals as the kernel) so that it is
    itself differentiable for meta-learning.
    """
    kh, kw = int(filter_size[0]), int(filter_size[1])
    squeeze = feat.dim() == 4
    if squeeze:
        feat, residual = feat.unsqueeze(0), residual.unsqueeze(0)
    if feat.dim() != 5 or residual.dim() != 5 or residual.shape[:2] != feat.shape[:2]:
        raise ValueError(
            f"features [S,N,C,H,W] and residuals [S,N,F,Ho,Wo] expected, got {tuple(feat.shape)} and "
            f"{tuple(residual.shape)}"
        )
    num_seq, num_frames, channels, height, width = feat.shape
    num_filters = residual.shape[2]
    pad = _padding_pair(padding, (kh, kw))
    expected = (height + 2 * pad[0] - kh + 1, width + 2 * pad[1] - kw + 1)
    if tuple(residual.shape[-2:]) != expected:
        raise ValueError(f"residual spatial size {tuple(residual.shape[-2:])} should be {expected} for this filter")
    stacked = feat.permute(2, 0, 1, 3, 4).reshape(channels, num_seq * num_frames, height, width)
    kernel = residual.transpose(1, 2).reshape(num_seq * num_filters, num_frames, *expected)
    grad = F.conv2d(stacked, kernel, padding=pad, groups=num_seq)  # [C, S*F, kh, kw]
    grad = grad.reshape(channels, num_seq, num_filters, kh, kw).permute(1, 2, 0, 3, 4)
    return grad[0] if squeeze else grad
