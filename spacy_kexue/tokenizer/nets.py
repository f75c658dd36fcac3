"""PyTorch modules of the char taggers (imported lazily: this module imports torch).

Input: int64 character ids, shape (batch, length), 0 = padding; output: float32
log-probabilities over the tags B, M, E, S, shape (batch, length, 4).
"""

from __future__ import annotations

import torch
from torch import nn

N_TAGS = 4
PAD_ID = 0
UNK_ID = 1


class CNNTagger(nn.Module):
    """Embedding -> residual (dilated) Conv1d blocks -> per-char tag log-probabilities.

    With ``dilate``, block i has dilation 2**i, so ``depth`` blocks of window 3 see
    2**depth - 1 characters either side.
    """

    def __init__(
        self, n_chars: int, width: int, depth: int, window: int, dilate: bool, dropout: float
    ):
        super().__init__()
        self.embed = nn.Embedding(n_chars, width, padding_idx=PAD_ID)
        pad = window // 2
        self.convs = nn.ModuleList(
            nn.Conv1d(
                width,
                width,
                window,
                padding=pad * (2**i if dilate else 1),
                dilation=2**i if dilate else 1,
            )
            for i in range(depth)
        )
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(width, N_TAGS)

    # Below this many characters per call, inference computes each convolution as one matrix
    # product over shifted copies of the input: the same numbers, about 1.6x faster for the
    # small batches of single texts (spaCy's nlp.pipe tokenizes one text at a time).
    SMALL_INPUT = 4096

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        if not self.training and ids.numel() < self.SMALL_INPUT:
            return self._forward_small(ids)
        mask = (ids != PAD_ID).unsqueeze(1).to(torch.float32)
        x = self.embed(ids).transpose(1, 2)
        for conv in self.convs:
            x = x + torch.relu(conv(self.dropout(x))) * mask
        return torch.log_softmax(self.out(self.dropout(x.transpose(1, 2))), dim=-1)

    def _forward_small(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != PAD_ID).unsqueeze(-1).to(torch.float32)
        x = self.embed(ids)  # (batch, length, width)
        length = x.shape[1]
        for conv in self.convs:
            step, window, pad = conv.dilation[0], conv.kernel_size[0], conv.padding[0]
            padded = nn.functional.pad(x, (0, 0, pad, pad))
            shifted = torch.cat(
                [padded[:, j * step : j * step + length] for j in range(window)], dim=-1
            )
            weight = conv.weight.permute(2, 1, 0).reshape(
                window * conv.in_channels, conv.out_channels
            )
            y = torch.addmm(conv.bias, shifted.reshape(-1, shifted.shape[-1]), weight)
            x = x + torch.relu(y.reshape(x.shape)) * mask
        return torch.log_softmax(self.out(x), dim=-1)


class LSTMTagger(nn.Module):
    """Embedding -> BiLSTM -> per-char tag log-probabilities (the kexue.fm original)."""

    def __init__(self, n_chars: int, width: int, hidden: int, depth: int, dropout: float):
        super().__init__()
        self.embed = nn.Embedding(n_chars, width, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(width, hidden, num_layers=depth, bidirectional=True, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, N_TAGS)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        lengths = (ids != PAD_ID).sum(dim=1).clamp(min=1).cpu()
        x = self.dropout(self.embed(ids))
        packed = nn.utils.rnn.pack_padded_sequence(
            x, lengths, batch_first=True, enforce_sorted=False
        )
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=ids.shape[1])
        return torch.log_softmax(self.out(self.dropout(out)), dim=-1)


ARCHS = {"cnn": CNNTagger, "lstm": LSTMTagger}


def build_torch_tagger(arch: str, n_chars: int, **settings) -> nn.Module:
    """The bare PyTorch module for ``arch`` ("cnn" or "lstm")."""
    if arch not in ARCHS:
        raise ValueError(f"Unknown tagger architecture {arch!r}: use one of {sorted(ARCHS)}.")
    return ARCHS[arch](n_chars, **settings)
