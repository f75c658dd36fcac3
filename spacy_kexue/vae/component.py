"""``kexue_vae``: BN-VAE document vectors, trained unsupervised inside ``spacy train``.

    [components.vae]
    factory = "kexue_vae"

    [components.vae.model]
    @architectures = "spacy_kexue.TextVAE.v1"
    posterior = "bn_su"

The loss is the negative ELBO of the reference texts, −log p(x|z) + KL(q(z|x) ‖ p(z)) with one
sample z ~ q(z|x); no labels are read. Each doc gets ``doc._.vae_vector``, its posterior mean μ
(float32, from running batch statistics, so a doc's vector does not depend on its batch), and
``doc._.vae_similarity(other)``, the cosine of two docs' vectors. Scores (``spacy evaluate``,
the dev scores of ``spacy train``): ``vae_elbo`` (per doc, higher is better), ``vae_rec``,
``vae_kl`` and ``vae_au`` (active units).

No ``from __future__ import annotations``: spaCy validates ``initialize``'s signature. torch
and the architecture are imported inside methods.
"""

from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.pipeline import TrainablePipe
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.vocab import Vocab
from thinc.api import Config, Model, Optimizer
from thinc.types import Floats2d

from ..integrity import ChecksummedPipe
from ..torch_util import AveragedTorchPipe, install_fork_hook

VECTOR_ATTR = "vae_vector"
SIMILARITY_ATTR = "vae_similarity"

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_kexue.TextVAE.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]


def vae_similarity(doc: Doc, other: Doc) -> float:
    """Cosine similarity of two docs' ``vae_vector`` (0.0 if either vector is zero)."""
    a, b = doc._.get(VECTOR_ATTR), other._.get(VECTOR_ATTR)
    if a is None or b is None:
        raise ValueError(
            "both docs need doc._.vae_vector: process them with a pipeline that has kexue_vae"
        )
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    norm = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / norm) if norm > 0 else 0.0


def _hook_vector(doc: Doc) -> np.ndarray:
    return doc._.get(VECTOR_ATTR)


def _hook_has_vector(doc: Doc) -> bool:
    return doc._.get(VECTOR_ATTR) is not None


def _hook_similarity(doc: Doc, other) -> float:
    if not isinstance(other, Doc):
        raise ValueError(
            f"doc.similarity compares the kexue_vae vectors of two Docs, not a Doc and a "
            f"{type(other).__name__}; use doc.similarity(other_doc) or doc._.vae_similarity."
        )
    return vae_similarity(doc, other)


#: spaCy's own ``doc.vector``, ``doc.has_vector`` and ``doc.similarity`` read the VAE vector
#: (``Doc.user_hooks``; spaCy does not serialize hooks, so a Doc read back from bytes, or from
#: an ``n_process > 1`` worker, keeps ``doc._.vae_vector`` and ``doc._.vae_similarity`` only).
USER_HOOKS = {
    "vector": _hook_vector,
    "has_vector": _hook_has_vector,
    "similarity": _hook_similarity,
}


if not Doc.has_extension(VECTOR_ATTR):
    Doc.set_extension(VECTOR_ATTR, default=None)
if not Doc.has_extension(SIMILARITY_ATTR):
    Doc.set_extension(SIMILARITY_ATTR, method=vae_similarity)


@Language.factory(
    "kexue_vae",
    assigns=[f"doc._.{VECTOR_ATTR}"],
    default_config={"model": DEFAULT_MODEL},
    default_score_weights={"vae_elbo": 1.0, "vae_rec": None, "vae_kl": None, "vae_au": None},
)
def make_kexue_vae(nlp: Language, name: str, model: Model[list[Doc], Floats2d]) -> "KexueVAE":
    return KexueVAE(nlp.vocab, model, name)


class KexueVAE(AveragedTorchPipe, ChecksummedPipe, TrainablePipe):
    def __init__(
        self, vocab: Vocab, model: Model[list[Doc], Floats2d], name: str = "kexue_vae"
    ) -> None:
        self.vocab = vocab
        self.model = model
        self.name = name
        self.cfg: dict[str, Any] = {}

    def predict(self, docs: Iterable[Doc]) -> np.ndarray:
        from .model import encode_means

        install_fork_hook()
        return encode_means(self.model, list(docs))

    def set_annotations(self, docs: Iterable[Doc], vectors: np.ndarray) -> None:
        for doc, vector in zip(docs, vectors, strict=True):
            doc._.set(VECTOR_ATTR, np.asarray(vector, dtype=np.float32))
            doc.user_hooks.update(USER_HOOKS)

    def _elbo_terms(self, docs: list[Doc], train: bool):
        """(reconstruction, KL, μ, log σ²) per doc, and the token ids the net read."""
        import torch

        from .model import batch_ids, torch_net

        net = torch_net(self.model)
        net.train(train)
        ids, lengths = (torch.from_numpy(a) for a in batch_ids(self.model, docs))
        return net(ids, lengths), ids

    def update(
        self,
        examples: Iterable[Example],
        *,
        drop: float = 0.0,
        sgd: Optimizer | bool | None = None,
        losses: dict[str, float] | None = None,
    ) -> dict[str, float]:
        """One step on the negative ELBO of the examples' reference texts (mean per doc), plus
        ``bag_weight`` times the bag-of-units term when the model has one."""
        if losses is None:
            losses = {}
        losses.setdefault(self.name, 0.0)
        examples = list(examples)
        validate_examples(examples, "KexueVAE.update")
        if not examples:
            return losses
        from .model import torch_net

        (rec, kl, mu, _), ids = self._elbo_terms([eg.reference for eg in examples], train=True)
        loss = rec + kl
        net = torch_net(self.model)
        if net.bag_weight:
            loss = loss + net.bag_weight * net.bag_nll(mu, ids)
        loss = loss.mean()
        loss.backward()
        if sgd not in (None, False):  # as spaCy's pipes: False or None defers the step
            self.finish_update(sgd)
        losses[self.name] += float(loss.detach())
        return losses

    def get_loss(self, examples: Iterable[Example], scores: Any):
        raise NotImplementedError(
            "kexue_vae's loss (the negative ELBO) is computed in update(), not from scores"
        )

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
    ) -> None:
        """Build the unit vocabulary from every training text."""
        from .model import set_vocab

        examples = list(get_examples())
        validate_examples(examples, "KexueVAE.initialize")
        if set_vocab(self.model, (eg.reference for eg in examples)) == 0:
            raise ValueError(
                f"{self.name}: the training docs have no characters or words to build the "
                "VAE's vocabulary from. Check the training corpus."
            )
        self.model.initialize()

    def score(self, examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
        """ELBO terms per doc (one z sample, a fixed seed) and active units on the examples."""
        import torch

        from .metrics import active_units

        docs = [eg.reference for eg in examples]
        if not docs:
            return {"vae_elbo": None, "vae_rec": None, "vae_kl": None, "vae_au": None}
        rec_sum = kl_sum = 0.0
        means = []
        with torch.random.fork_rng(), torch.inference_mode():
            torch.manual_seed(0)
            for start in range(0, len(docs), 256):
                (rec, kl, mu, _), _ = self._elbo_terms(docs[start : start + 256], train=False)
                rec_sum += float(rec.sum())
                kl_sum += float(kl.sum())
                means.append(mu.numpy())
        n = len(docs)
        return {
            "vae_elbo": -(rec_sum + kl_sum) / n,
            "vae_rec": rec_sum / n,
            "vae_kl": kl_sum / n,
            "vae_au": active_units(np.concatenate(means)),
        }
