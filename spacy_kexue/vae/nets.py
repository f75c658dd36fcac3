"""The text VAE and its language-model baseline in PyTorch (imports torch).

Input: int64 unit ids (batch, length), 0 = padding, and the number of units per row (see
:mod:`.vocab`: id 1 is the end-of-text symbol, which also starts the decoder's input).

- Encoder: embedding -> BiLSTM -> both directions' final states -> posterior head
  (:mod:`.posterior`) -> (μ, log σ²).
- Decoder: an LSTM over [end-of-text] + units predicting units + [end-of-text], its initial
  hidden state tanh(W z) and z appended to every input embedding, so the decoder is
  autoregressive *and* conditioned on z: the setting in which a vanilla VAE's KL vanishes.
- ``latent = 0`` gives the LSTM language model with the same decoder and no z (the baseline).
- ``bag_weight > 0`` adds a bag-of-units head: softmax(W μ) must explain the text's units in any
  order (:meth:`TextVAENet.bag_nll`, the bag-of-words loss of Zhao et al., 2017). It is an
  auxiliary training term, not part of the ELBO: it pushes what a text is about into μ, which
  an autoregressive decoder can otherwise do without.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from .posterior import build_posterior, gaussian_kl

PAD_ID = 0
EOS_ID = 1


class TextVAENet(nn.Module):
    def __init__(
        self,
        n_vocab: int,
        *,
        width: int = 256,
        enc_hidden: int = 256,
        dec_hidden: int = 512,
        latent: int = 32,
        posterior: str = "bn_su",
        gamma: float = 0.6,
        tau: float = 0.5,
        dropout: float = 0.3,
        bag_weight: float = 0.0,
    ):
        super().__init__()
        if latent < 0:
            raise ValueError(f"latent must be >= 0 (0: a language model), got {latent}")
        if bag_weight < 0 or (bag_weight and not latent):
            raise ValueError(
                f"bag_weight must be >= 0, and 0 for a language model (latent = 0); got {bag_weight}"
            )
        self.latent = latent
        self.bag_weight = bag_weight
        self.embed = nn.Embedding(n_vocab, width, padding_idx=PAD_ID)
        self.dropout = nn.Dropout(dropout)
        if latent:
            self.encoder = nn.LSTM(width, enc_hidden, batch_first=True, bidirectional=True)
            self.posterior = build_posterior(
                posterior, 2 * enc_hidden, latent, gamma=gamma, tau=tau
            )
            self.z_to_hidden = nn.Linear(latent, dec_hidden)
        if bag_weight:
            self.bag = nn.Linear(latent, n_vocab)
        self.decoder = nn.LSTM(width + latent, dec_hidden, batch_first=True)
        self.out = nn.Linear(dec_hidden, n_vocab)

    def encode(self, ids: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, log σ²), each (batch, latent)."""
        if not self.latent:
            raise ValueError("a language model (latent = 0) has no encoder")
        x = self.embed(ids)
        packed = pack_padded_sequence(
            x, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
        )
        _, (h, _) = self.encoder(packed)
        features = torch.cat([h[-2], h[-1]], dim=-1)  # forward and backward final states
        return self.posterior(features)

    def log_likelihood(
        self, z: torch.Tensor | None, ids: torch.Tensor, lengths: torch.Tensor
    ) -> torch.Tensor:
        """log p(x | z) per row (summed over the units and the end-of-text symbol)."""
        batch, n_steps = ids.shape
        eos = torch.full((batch, 1), EOS_ID, dtype=ids.dtype)
        inputs = torch.cat([eos, ids], dim=1)
        positions = torch.arange(n_steps + 1).unsqueeze(0)
        targets = torch.cat([ids, torch.zeros((batch, 1), dtype=ids.dtype)], dim=1)
        targets = torch.where(positions == lengths.unsqueeze(1), EOS_ID, targets)
        mask = positions <= lengths.unsqueeze(1)
        x = self.dropout(self.embed(inputs))
        if z is not None and self.latent:
            x = torch.cat([x, z.unsqueeze(1).expand(-1, n_steps + 1, -1)], dim=-1)
            h0 = torch.tanh(self.z_to_hidden(z)).unsqueeze(0)
            states, _ = self.decoder(x, (h0, torch.zeros_like(h0)))
        else:
            states, _ = self.decoder(x)
        logp = torch.log_softmax(self.out(self.dropout(states)), dim=-1)
        picked = logp.gather(2, targets.unsqueeze(-1)).squeeze(-1)
        return (picked * mask).sum(dim=1)

    def bag_nll(self, mu: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """−Σ log softmax(W μ)[unit] over each row's units (padding excluded), per row: how
        badly μ alone predicts the text's units, order ignored."""
        if not self.bag_weight:
            raise ValueError("the net has no bag-of-units head (bag_weight = 0)")
        logp = torch.log_softmax(self.bag(mu), dim=-1)
        return -(logp.gather(1, ids) * (ids != PAD_ID)).sum(dim=1)

    def forward(
        self, ids: torch.Tensor, lengths: torch.Tensor, sample: bool = True
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per row: reconstruction −log p(x|z) with z ~ q(z|x) (z = μ if not ``sample``),
        KL(q ‖ p), μ and log σ². For a language model the KL is 0 and μ, log σ² are empty."""
        if not self.latent:
            empty = torch.zeros((ids.shape[0], 0))
            return -self.log_likelihood(None, ids, lengths), torch.zeros(ids.shape[0]), empty, empty
        mu, logvar = self.encode(ids, lengths)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu) if sample else mu
        return -self.log_likelihood(z, ids, lengths), gaussian_kl(mu, logvar), mu, logvar

    @torch.no_grad()
    def generate(
        self,
        z: torch.Tensor | None,
        n: int,
        max_length: int,
        *,
        temperature: float = 0.0,
        generator: torch.Generator | None = None,
    ) -> list[list[int]]:
        """Decode ``n`` texts (ids, without the end-of-text symbol) from codes ``z`` (n, latent),
        or from nothing for a language model: greedy when ``temperature`` is 0, else sampled."""
        was_training = self.training
        self.eval()
        token = torch.full((n, 1), EOS_ID, dtype=torch.long)
        state = None
        if z is not None and self.latent:
            h0 = torch.tanh(self.z_to_hidden(z)).unsqueeze(0)
            state = (h0, torch.zeros_like(h0))
        out: list[list[int]] = [[] for _ in range(n)]
        done = torch.zeros(n, dtype=torch.bool)
        for _ in range(max_length):
            x = self.embed(token)
            if z is not None and self.latent:
                x = torch.cat([x, z.unsqueeze(1)], dim=-1)
            hidden, state = self.decoder(x, state)
            logits = self.out(hidden[:, -1])
            logits[:, PAD_ID] = float("-inf")
            if temperature > 0:
                probs = torch.softmax(logits / temperature, dim=-1)
                token = torch.multinomial(probs, 1, generator=generator)
            else:
                token = logits.argmax(dim=-1, keepdim=True)
            done |= token[:, 0] == EOS_ID
            for i in range(n):
                if not done[i]:
                    out[i].append(int(token[i, 0]))
            if bool(done.all()):
                break
        self.train(was_training)
        return out
