"""PyTorch text encoders for ``kexue_textcat`` (imported lazily: this module imports torch).

Input: int64 unit ids (characters or words), shape (batch, length), 0 = padding, and the
number of units per row. Output: one feature vector per row. An LSTM encoder can also return
each direction's hidden state at every step, which ``kexue_saliency`` reads.

- ``RNNEncoderNet``: embedding -> (Bi)LSTM -> pooling ("last": the final states of both
  directions, as in the kexue.fm posts; "max_mean": max and mean over the steps).
  With ``one_hot`` the unit's one-hot vector goes straight into the LSTM: W_ih · onehot(c) is
  column c of W_ih, so the layer is an embedding of width 4·hidden added to the gates, with the
  LSTM's own input matrix frozen at the identity (METHODS §6: the same model family as a
  character embedding, without the separate embedding layer).
  With ``bag_buckets`` > 0 a bag of the text's units and hashed unit bigrams (the mean of
  their embeddings, a fastText-style linear view, as spaCy's TextCatEnsemble puts a bag of
  words beside its network) is appended to the pooled features.
- ``CNNEncoderNet``: embedding -> Conv1d blocks -> max pooling (the ablation).
"""

from __future__ import annotations

import torch
from torch import nn

PAD_ID = 0
BIGRAM_PRIME = 1_000_003  # bigram (a, b) -> bucket (a * prime + b) mod buckets


class RNNEncoderNet(nn.Module):
    """A forward LSTM and, if ``bidirectional``, a second LSTM that reads each text backwards.

    Both run on the padded batch without packing (packed sequences make the CPU backward pass
    about 2.5x slower): padding sits after each text, so it never reaches a state that is read,
    and the backward LSTM gets each text reversed within its own length. With ``depth`` > 1 each
    direction stacks its own layers.
    """

    def __init__(
        self,
        n_vocab: int,
        width: int,
        hidden: int,
        *,
        depth: int = 1,
        bidirectional: bool = True,
        one_hot: bool = False,
        pooling: str = "max_mean",
        dropout: float = 0.0,
        bag_buckets: int = 0,
        bag_width: int = 64,
    ):
        super().__init__()
        if bag_buckets < 0 or (bag_buckets and bag_width < 1):
            raise ValueError(
                f"bag_buckets must be >= 0 and bag_width >= 1, got {bag_buckets}, {bag_width}"
            )
        if pooling not in ("last", "max_mean"):
            raise ValueError(f"pooling must be 'last' or 'max_mean', got {pooling!r}")
        if one_hot and depth != 1:
            raise ValueError("a one-hot LSTM encoder has one layer (depth = 1)")
        self.hidden = hidden
        self.pooling = pooling
        self.bidirectional = bidirectional
        in_width = 4 * hidden if one_hot else width
        self.embed = nn.Embedding(n_vocab, in_width, padding_idx=PAD_ID)
        self.lstm = nn.LSTM(in_width, hidden, num_layers=depth, batch_first=True)
        self.lstm_reverse = (
            nn.LSTM(in_width, hidden, num_layers=depth, batch_first=True) if bidirectional else None
        )
        if one_hot:
            for name, param in self.named_parameters():
                if "weight_ih" in name:
                    with torch.no_grad():
                        param.copy_(torch.eye(4 * hidden))
                    param.requires_grad_(False)
        self.dropout = nn.Dropout(dropout)
        n_dirs = 2 if bidirectional else 1
        self.n_out = hidden * n_dirs * (2 if pooling == "max_mean" else 1)
        self.n_vocab, self.bag_buckets = n_vocab, bag_buckets
        if bag_buckets:
            # rows: padding, the units (ids 1..n_vocab-1), then the bigram buckets
            self.bag = nn.Embedding(n_vocab + bag_buckets, bag_width, padding_idx=PAD_ID)
            self.n_out += bag_width

    def bag_features(self, ids: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The mean embedding of each row's units and unit bigrams (zeros for an empty row)."""
        bigrams = (ids[:, :-1] * BIGRAM_PRIME + ids[:, 1:]) % self.bag_buckets + self.n_vocab
        grams = torch.cat([ids, bigrams], dim=1)
        present = torch.cat([valid, valid[:, 1:]], dim=1)  # a bigram ends at a valid unit
        grams = grams.masked_fill(~present, PAD_ID)
        counts = present.sum(dim=1, keepdim=True).clamp(min=1)
        return self.bag(grams).sum(dim=1) / counts

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return self.encode(ids, lengths)[0]

    def feature_index(self) -> dict[str, list[int]]:
        """Per direction, the feature columns its pooled state fills: [final state] for
        "last", [max, mean] for "max_mean" (features: max over both directions' states, then
        mean)."""
        h, n_dirs = self.hidden, 2 if self.bidirectional else 1
        names = ["forward", "backward"][:n_dirs]
        if self.pooling == "last":
            return {name: list(range(d * h, (d + 1) * h)) for d, name in enumerate(names)}
        width = n_dirs * h
        return {
            name: list(range(d * h, (d + 1) * h)) + list(range(width + d * h, width + (d + 1) * h))
            for d, name in enumerate(names)
        }

    def encode(
        self, ids: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Features (batch, n_out), the forward LSTM's states (batch, length, hidden) and the
        backward LSTM's (None if unidirectional), both indexed by the original positions: the
        backward state at step j is the one after reading units j..end from the right."""
        n_steps = ids.shape[1]
        positions = torch.arange(n_steps).unsqueeze(0)
        valid = positions < lengths.unsqueeze(1)  # (batch, length)
        x = self.dropout(self.embed(ids))
        forward_states, _ = self.lstm(x)
        directions = [forward_states]
        if self.lstm_reverse is not None:
            # Reverse each text within its length; padding stays at the end.
            flip = torch.where(valid, lengths.unsqueeze(1) - 1 - positions, positions)
            index = flip.unsqueeze(-1)
            reversed_states, _ = self.lstm_reverse(x.gather(1, index.expand(-1, -1, x.shape[2])))
            backward_states = reversed_states.gather(1, index.expand(-1, -1, self.hidden))
            directions.append(backward_states)
        else:
            backward_states = None
        steps = torch.cat(directions, dim=-1)  # (batch, length, hidden * n_dirs)
        if self.pooling == "last":
            last = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, self.hidden)
            pooled = [forward_states.gather(1, last).squeeze(1)]
            if backward_states is not None:
                pooled.append(reversed_states.gather(1, last).squeeze(1))
            features = torch.cat(pooled, dim=-1)
        else:
            mask = valid.unsqueeze(-1)
            maxed = steps.masked_fill(~mask, float("-inf")).max(dim=1).values
            mean = (steps * mask).sum(dim=1) / lengths.clamp(min=1).unsqueeze(1)
            features = torch.cat([maxed, mean], dim=-1)
        if self.bag_buckets:
            features = torch.cat([features, self.bag_features(ids, valid)], dim=-1)
        # Texts without a known unit get all-zero features (the output layer's bias decides).
        features = self.dropout(features.masked_fill((lengths == 0).unsqueeze(1), 0.0))
        return features, forward_states, backward_states


class CNNEncoderNet(nn.Module):
    def __init__(
        self,
        n_vocab: int,
        width: int,
        hidden: int,
        *,
        depth: int = 2,
        window: int = 3,
        dropout: float = 0.0,
    ):
        super().__init__()
        if window < 1 or window % 2 == 0:
            raise ValueError(f"window must be a positive odd number, got {window}")
        self.embed = nn.Embedding(n_vocab, width, padding_idx=PAD_ID)
        self.convs = nn.ModuleList(
            nn.Conv1d(width if i == 0 else hidden, hidden, window, padding=window // 2)
            for i in range(depth)
        )
        self.dropout = nn.Dropout(dropout)
        self.n_out = hidden

    def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        mask = (ids != PAD_ID).unsqueeze(1)
        x = self.dropout(self.embed(ids)).transpose(1, 2)
        for conv in self.convs:
            x = torch.relu(conv(x)).masked_fill(~mask, 0.0)
        x = x.masked_fill(~mask, float("-inf")).max(dim=2).values
        present = (lengths > 0).unsqueeze(1)
        return self.dropout(x.masked_fill(~present, 0.0))
