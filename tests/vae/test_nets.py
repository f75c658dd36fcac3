"""``TextVAENet``: shapes, the decoder's log-likelihood by hand, padding, the LM, overfitting."""

from __future__ import annotations

import math

import pytest
import torch

from spacy_kexue.vae.nets import EOS_ID, PAD_ID, TextVAENet
from spacy_kexue.vae.posterior import POSTERIORS, gaussian_kl

N_VOCAB = 20
SMALL = {"width": 16, "enc_hidden": 16, "dec_hidden": 32, "latent": 4}
KINDS = [*POSTERIORS, "lm"]


def make_net(kind: str, seed: int = 0, **kw) -> TextVAENet:
    torch.manual_seed(seed)
    settings = {**SMALL, "dropout": 0.0, **kw}
    if kind == "lm":
        settings["latent"] = 0
    else:
        settings["posterior"] = kind
    return TextVAENet(N_VOCAB, **settings)


def batch(rows: list[list[int]], width: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Padded ids (0 after each row's end) and lengths."""
    width = max(1, width or max((len(r) for r in rows), default=0))
    ids = torch.zeros((len(rows), width), dtype=torch.int64)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.int64)
    return ids, torch.tensor([len(r) for r in rows], dtype=torch.int64)


ROWS = [[3, 4, 5, 6, 7], [8, 9], [10, 11, 12, 13, 14, 15, 16], [17], [18, 19, 3]]


def warm_up(net: TextVAENet, steps: int = 3) -> None:
    """A few training-mode passes so BN running statistics are not the defaults."""
    net.train()
    with torch.no_grad():
        for _ in range(steps):
            net(*batch(ROWS))


def log_likelihood_by_hand(net: TextVAENet, z: torch.Tensor | None, row: list[int]) -> float:
    """Step by step: feed [EOS] + row, pick each next unit and finally EOS."""
    inputs = [EOS_ID, *row]
    targets = [*row, EOS_ID]
    if z is not None:
        h = torch.tanh(net.z_to_hidden(z)).reshape(1, 1, -1)
        state = (h, torch.zeros_like(h))
    else:
        state = None
    total = 0.0
    for inp, tgt in zip(inputs, targets, strict=True):
        x = net.embed(torch.tensor([[inp]]))
        if z is not None:
            x = torch.cat([x, z.reshape(1, 1, -1)], dim=-1)
        out, state = net.decoder(x, state)
        logp = torch.log_softmax(net.out(out[0, 0]), dim=-1)
        total += float(logp[tgt])
    return total


# -- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sample", [True, False])
def test_forward_shapes(kind, sample):
    net = make_net(kind)
    ids, lengths = batch(ROWS)
    rec, kl, mu, logvar = net(ids, lengths, sample=sample)
    latent = 0 if kind == "lm" else SMALL["latent"]
    assert rec.shape == kl.shape == (len(ROWS),)
    assert mu.shape == logvar.shape == (len(ROWS), latent)
    assert torch.isfinite(rec).all() and (rec > 0).all()
    if kind != "lm":
        m, lv = net.encode(ids, lengths)
        assert m.shape == lv.shape == (len(ROWS), latent)


def test_negative_latent_raises():
    with pytest.raises(ValueError, match=r"latent must be >= 0"):
        TextVAENet(N_VOCAB, **{**SMALL, "latent": -1})


@pytest.mark.parametrize("kind", ["bogus", "BN"])
def test_unknown_posterior_raises(kind):
    with pytest.raises(ValueError, match=r"posterior must be one of"):
        TextVAENet(N_VOCAB, **SMALL, posterior=kind)


# -- log-likelihood ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_log_likelihood_by_hand(kind):
    net = make_net(kind, seed=1)
    warm_up(net)
    net.eval()
    ids, lengths = batch(ROWS)
    g = torch.Generator().manual_seed(0)
    z = None if kind == "lm" else torch.randn(len(ROWS), SMALL["latent"], generator=g)
    with torch.no_grad():
        ll = net.log_likelihood(z, ids, lengths)
        assert ll.shape == (len(ROWS),)
        assert (ll <= 0).all()
        for i, row in enumerate(ROWS):
            expected = log_likelihood_by_hand(net, None if z is None else z[i], row)
            assert float(ll[i]) == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize("kind", KINDS)
def test_log_likelihood_counts_the_end_of_text(kind):
    """Changing the last unit of a row, or the EOS prediction, changes the likelihood; the
    padding after it does not (targets past the row's length are masked)."""
    net = make_net(kind, seed=2).eval()
    z = None if kind == "lm" else torch.zeros(2, SMALL["latent"])
    with torch.no_grad():
        ids, lengths = batch([[3, 4, 5], [3, 4, 5]], width=6)
        ids[1, 3:] = torch.tensor([7, 8, 9])  # junk after the end: ignored
        ll = net.log_likelihood(z, ids, lengths)
        torch.testing.assert_close(ll[0], ll[1], rtol=0, atol=1e-5)
        # the same units one shorter: a different EOS position
        ids2, lengths2 = batch([[3, 4, 5], [3, 4]])
        ll2 = net.log_likelihood(z, ids2, lengths2)
        assert abs(float(ll2[0] - ll2[1])) > 1e-4


@pytest.mark.parametrize("kind", KINDS)
def test_padding_does_not_change_a_row(kind):
    net = make_net(kind, seed=3)
    warm_up(net)
    net.eval()
    with torch.no_grad():
        rec, kl, mu, logvar = net(*batch(ROWS), sample=False)
        for i, row in enumerate(ROWS):
            rec1, kl1, mu1, logvar1 = net(*batch([row]), sample=False)
            torch.testing.assert_close(rec1[0], rec[i], rtol=0, atol=1e-5)
            torch.testing.assert_close(kl1[0], kl[i], rtol=0, atol=1e-5)
            torch.testing.assert_close(mu1[0], mu[i], rtol=0, atol=1e-5)
            torch.testing.assert_close(logvar1[0], logvar[i], rtol=0, atol=1e-5)
            # and extra padding on the row alone changes nothing either
            rec2, *_ = net(*batch([row], width=12), sample=False)
            torch.testing.assert_close(rec2[0], rec[i], rtol=0, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_empty_row(kind):
    net = make_net(kind, seed=4)
    warm_up(net)
    net.eval()
    ids, lengths = batch([[]])
    assert ids.shape == (1, 1) and int(lengths[0]) == 0
    with torch.no_grad():
        rec, kl, mu, logvar = net(ids, lengths, sample=False)
        z = None if kind == "lm" else mu
        assert torch.isfinite(rec).all() and float(rec[0]) > 0
        expected = -log_likelihood_by_hand(net, None if z is None else z[0], [])
        assert float(rec[0]) == pytest.approx(expected, abs=1e-5)
        # alone or beside longer rows
        rec_b, *_ = net(*batch([[], *ROWS]), sample=False)
        torch.testing.assert_close(rec_b[0], rec[0], rtol=0, atol=1e-5)


# -- determinism, sampling, KL -------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_eval_forward_without_sampling_is_deterministic(kind):
    net = make_net(kind, seed=5, dropout=0.5)
    warm_up(net)
    net.eval()
    ids, lengths = batch(ROWS)
    with torch.no_grad():
        a = net(ids, lengths, sample=False)
        b = net(ids, lengths, sample=False)
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=0, atol=0)


@pytest.mark.parametrize("kind", POSTERIORS)
def test_sampling_changes_the_reconstruction(kind):
    net = make_net(kind, seed=6)
    warm_up(net)
    net.eval()
    ids, lengths = batch(ROWS)
    with torch.no_grad():
        torch.manual_seed(0)
        rec_a, kl_a, *_ = net(ids, lengths, sample=True)
        rec_b, kl_b, *_ = net(ids, lengths, sample=True)
    assert float((rec_a - rec_b).abs().max()) > 1e-6
    torch.testing.assert_close(kl_a, kl_b)  # the KL depends on q only


@pytest.mark.parametrize("kind", POSTERIORS)
@pytest.mark.parametrize("train", [True, False])
def test_kl_is_gaussian_kl_of_the_posterior(kind, train):
    net = make_net(kind, seed=7)
    warm_up(net)
    net.train(train)
    with torch.no_grad():
        _, kl, mu, logvar = net(*batch(ROWS))
    torch.testing.assert_close(kl, gaussian_kl(mu, logvar), rtol=0, atol=0)
    assert (kl >= 0).all()


@pytest.mark.parametrize("kind", ["bn_paper", "bn_su"])
def test_bn_heads_keep_the_kl_floor_inside_the_net(kind):
    """Over a training batch the net's mean KL stays at or above the BN bound."""
    net = make_net(kind, seed=8, gamma=0.6, tau=0.5)
    net.train()
    with torch.no_grad():
        _, kl, *_ = net(*batch(ROWS))
    floor = SMALL["latent"] * (0.6**2 if kind == "bn_paper" else 0.5) / 2
    assert float(kl.mean()) >= floor * (1 - 1e-2)


def test_language_model():
    net = make_net("lm")
    assert net.latent == 0
    assert not hasattr(net, "encoder") and not hasattr(net, "posterior")
    assert net.decoder.input_size == SMALL["width"]
    ids, lengths = batch(ROWS)
    with pytest.raises(ValueError, match=r"no encoder"):
        net.encode(ids, lengths)
    rec, kl, mu, logvar = net(ids, lengths)
    assert float(kl.abs().max()) == 0.0
    assert mu.numel() == 0 and logvar.numel() == 0
    # the LM ignores any z it is given
    with torch.no_grad():
        torch.testing.assert_close(
            net.log_likelihood(torch.randn(len(ROWS), 4), ids, lengths),
            net.log_likelihood(None, ids, lengths),
        )


def test_vae_decoder_depends_on_z():
    net = make_net("bn_su", seed=9).eval()
    ids, lengths = batch(ROWS)
    with torch.no_grad():
        a = net.log_likelihood(torch.zeros(len(ROWS), 4), ids, lengths)
        b = net.log_likelihood(torch.full((len(ROWS), 4), 2.0), ids, lengths)
    assert float((a - b).abs().max()) > 1e-4


def test_padding_embedding_is_zero_and_untrained():
    net = make_net("bn_su")
    assert float(net.embed.weight.detach()[PAD_ID].abs().max()) == 0.0
    net.train()
    rec, kl, *_ = net(*batch(ROWS))
    (rec + kl).mean().backward()
    assert float(net.embed.weight.grad[PAD_ID].abs().max()) == 0.0


# -- training ------------------------------------------------------------------------------

OVERFIT = [[3, 4, 5, 6], [7, 8, 9], [10, 11, 12, 13, 14], [15, 16]]


@pytest.mark.parametrize("kind", ["bn_su", "lm"])
def test_overfits_four_sequences(kind):
    net = make_net(kind, seed=10)
    ids, lengths = batch(OVERFIT)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.eval()
    with torch.no_grad():
        start = net(ids, lengths, sample=False)[0]
    net.train()
    for _ in range(150):
        opt.zero_grad()
        rec, kl, *_ = net(ids, lengths)
        (rec + kl).mean().backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        rec, kl, *_ = net(ids, lengths, sample=False)
    assert torch.isfinite(rec).all() and torch.isfinite(kl).all()
    assert (rec < 0.3 * start).all(), (rec, start)
    if kind == "bn_su":
        # the KL floor survives training: the posterior did not collapse ...
        assert float(kl.mean()) > 0.1
        # ... and z tells the decoder which of the four sequences to start: an LM cannot do
        # better than log 4 nats per row on that first unit
        assert float(rec.mean()) < 0.5 * math.log(4)


# -- the bag-of-units head ---------------------------------------------------------------------


def test_bag_nll_by_hand():
    net = make_net("bn_su_rms", bag_weight=0.5)
    warm_up(net)
    net.eval()
    ids, lengths = batch(ROWS)
    with torch.no_grad():
        mu, _ = net.encode(ids, lengths)
        got = net.bag_nll(mu, ids)
        for i, row in enumerate(ROWS):
            logp = torch.log_softmax(net.bag(mu[i]), dim=-1)
            assert float(got[i]) == pytest.approx(-sum(float(logp[u]) for u in row), rel=1e-5)
    # order does not matter, padding does not count
    swapped = batch([list(reversed(r)) for r in ROWS], width=9)[0]
    with torch.no_grad():
        torch.testing.assert_close(net.bag_nll(mu, swapped), got)


def test_bag_head_only_when_asked():
    assert not hasattr(make_net("bn_su_rms"), "bag")  # the shipped nets keep their weights
    with pytest.raises(ValueError, match="no bag-of-units head"):
        make_net("bn_su_rms").bag_nll(torch.zeros((1, 4)), torch.ones((1, 2), dtype=torch.int64))
    for kind, weight in (("bn_su_rms", -1.0), ("lm", 1.0)):
        with pytest.raises(ValueError, match="bag_weight must be >= 0"):
            make_net(kind, bag_weight=weight)


def test_the_bag_term_puts_the_units_into_mu():
    """Trained on the bag term alone, μ comes to predict each row's units (nearly the best
    possible), which differ from row to row."""
    net = make_net("bn_su_rms", seed=3, bag_weight=1.0)
    ids, lengths = batch(OVERFIT)
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    net.eval()
    with torch.no_grad():
        start = net.bag_nll(net.encode(ids, lengths)[0], ids)
    net.train()
    for _ in range(150):
        opt.zero_grad()
        _, _, mu, _ = net(ids, lengths)
        net.bag_nll(mu, ids).mean().backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        end = net.bag_nll(net.encode(ids, lengths)[0], ids)
    # the best a softmax can do for a row of n distinct units is uniform over them: n log n
    best = torch.tensor([len(r) * math.log(len(r)) for r in OVERFIT])
    assert (end < best + 0.1 * (start - best)).all(), (end, best, start)
