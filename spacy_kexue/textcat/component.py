"""``kexue_textcat``: spaCy's exclusive-class TextCategorizer with a loss taken from config.

    [components.textcat]
    factory = "kexue_textcat"
    uncertain_band = [0.39, 0.61]      # optional: scores in the band set doc._.sentiment_uncertain

    [components.textcat.loss]
    @losses = "spacy_kexue.ThresholdLoss.v1"
    margin = 0.6

Differences from spaCy's ``textcat``: the loss (threshold, soft threshold or cross-entropy,
:mod:`.losses`) instead of the squared error; the encoder's vocabulary is built from the whole
training set in :meth:`initialize`; docs without tokens still get scores; an optional abstain
band; and, while a component listens to its LSTM states, the states from the same forward
pass (the dict ``predict_with_states`` in :mod:`.probe` describes) wait for it in
``self.kept_states`` (:mod:`.states`: beside the docs, never serialized with them).

Listeners follow spaCy's ``Tok2Vec`` pattern: ``listener_map`` (component name -> listeners),
``add_listener``/``remove_listener``, and ``find_listeners``, which ``Language._link_components``
calls for every component after this one whenever the pipeline changes (``add_pipe``,
``remove_pipe``, ``replace_pipe``, ``rename_pipe``, ``initialize``, ``from_disk``,
``from_bytes``): a component listens when its ``listens_to(textcat)`` method says so.
``kexue_saliency`` with ``method = "states"`` does; it also registers itself when it is made
and when its method changes. ``keep_states`` (read-only) is true exactly while a listener is
attached.

No ``from __future__ import annotations`` here: spaCy validates ``initialize``'s signature.
spaCy imports this module whenever a Language is made: the architectures (``.model``) and torch
are imported inside methods.
"""

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from spacy.language import Language
from spacy.pipeline.textcat import TextCategorizer
from spacy.scorer import Scorer
from spacy.tokens import Doc
from spacy.training import Example, validate_examples
from spacy.util import registry
from spacy.vocab import Vocab
from thinc.api import Config, Model
from thinc.types import Floats2d

from ..integrity import CHECKSUM_FILE, ChecksummedPipe  # noqa: F401 (CHECKSUM_FILE: re-exported)
from ..torch_util import AveragedTorchPipe, install_fork_hook
from .states import StateStore

UNCERTAIN_ATTR = "sentiment_uncertain"

DEFAULT_MODEL_CONFIG = """
[model]
@architectures = "spacy_kexue.TextClassifier.v1"

[model.encoder]
@architectures = "spacy_kexue.CharLSTMEncoder.v1"
"""
DEFAULT_MODEL = Config().from_str(DEFAULT_MODEL_CONFIG)["model"]

if not Doc.has_extension(UNCERTAIN_ATTR):
    Doc.set_extension(UNCERTAIN_ATTR, default=None)


def score_textcat(examples: Iterable[Example], **kwargs: Any) -> dict[str, Any]:
    """spaCy's scores for exclusive classes plus ``cats_accuracy`` (argmax equals gold)."""
    examples = list(examples)
    scores = Scorer.score_cats(examples, "cats", multi_label=False, **kwargs)
    hits = total = 0
    for eg in examples:
        gold = {k: v for k, v in eg.reference.cats.items() if v in (0, 1)}
        pred = eg.predicted.cats
        if not gold or not pred or max(gold.values()) != 1:
            continue
        total += 1
        hits += max(pred, key=pred.get) == max(gold, key=gold.get)
    scores["cats_accuracy"] = hits / total if total else None
    return scores


@registry.scorers("spacy_kexue.textcat_scorer.v1")
def make_textcat_scorer() -> Callable:
    return score_textcat


@Language.factory(
    "kexue_textcat",
    assigns=["doc.cats", f"doc._.{UNCERTAIN_ATTR}"],
    default_config={
        "model": DEFAULT_MODEL,
        "loss": {"@losses": "spacy_kexue.ThresholdLoss.v1", "margin": 0.6},
        "threshold": 0.0,
        "uncertain_band": None,
        "scorer": {"@scorers": "spacy_kexue.textcat_scorer.v1"},
    },
    default_score_weights={
        "cats_score": 1.0,
        "cats_accuracy": None,
        "cats_macro_f": None,
        "cats_macro_auc": None,
        "cats_score_desc": None,
        "cats_f_per_type": None,
    },
)
def make_kexue_textcat(
    nlp: Language,
    name: str,
    model: Model[list[Doc], Floats2d],
    loss: Callable,
    threshold: float,
    uncertain_band: list[float] | None,
    scorer: Callable | None,
) -> "KexueTextCategorizer":
    return KexueTextCategorizer(
        nlp.vocab,
        model,
        name,
        loss=loss,
        threshold=threshold,
        uncertain_band=uncertain_band,
        scorer=scorer,
    )


class KexueTextCategorizer(AveragedTorchPipe, ChecksummedPipe, TextCategorizer):
    """Exclusive-class text categorizer trained with a configurable loss."""

    def __init__(
        self,
        vocab: Vocab,
        model: Model[list[Doc], Floats2d],
        name: str = "kexue_textcat",
        *,
        loss: Callable,
        threshold: float = 0.0,
        uncertain_band: list[float] | None = None,
        scorer: Callable | None = score_textcat,
    ) -> None:
        super().__init__(vocab, model, name, threshold=threshold, scorer=scorer)
        if uncertain_band is not None:
            if len(uncertain_band) != 2 or not 0.0 <= uncertain_band[0] <= uncertain_band[1] <= 1:
                raise ValueError(
                    f"uncertain_band must be [low, high] with 0 <= low <= high <= 1, "
                    f"got {uncertain_band}"
                )
            uncertain_band = [float(x) for x in uncertain_band]
        self.cfg["uncertain_band"] = uncertain_band
        self.loss = loss
        # component name -> the components that read this textcat's LSTM states (spaCy's
        # Tok2Vec keeps its listener layers the same way)
        self.listener_map: dict[str, list[Any]] = {}
        self.kept_states = StateStore()

    @property
    def positive_label(self) -> str:
        """The label whose score the abstain band reads: ``positive_label`` if set, else
        POSITIVE if present, else the first label."""
        if self.cfg.get("positive_label"):
            return self.cfg["positive_label"]
        return "POSITIVE" if "POSITIVE" in self.labels else self.labels[0]

    # --- listeners: the components that read the LSTM states ----------------------------------

    @property
    def listeners(self) -> list[Any]:
        """The components listening to this textcat's LSTM states."""
        return [m for c in self.listening_components for m in self.listener_map[c]]

    @property
    def listening_components(self) -> list[str]:
        """The names of the components listening to this textcat's LSTM states."""
        return list(self.listener_map.keys())

    @property
    def keep_states(self) -> bool:
        """Whether ``predict`` keeps the LSTM states: exactly while a listener is attached."""
        return bool(self.listener_map)

    def add_listener(self, listener: Any, component_name: str) -> None:
        """Keep the LSTM states for ``listener`` (the component ``component_name``)."""
        self.listener_map.setdefault(component_name, [])
        if listener not in self.listener_map[component_name]:
            self.listener_map[component_name].append(listener)

    def remove_listener(self, listener: Any, component_name: str) -> bool:
        """Stop keeping states for ``listener``; returns whether it was listening."""
        listeners = self.listener_map.get(component_name, [])
        if listener not in listeners:
            return False
        listeners.remove(listener)
        if not listeners:
            del self.listener_map[component_name]
        return True

    def find_listeners(self, component: Any) -> None:
        """spaCy's hook (``Language._link_components``, for each component after this one):
        add ``component`` if its ``listens_to(self)`` says it reads this textcat's states."""
        listens_to = getattr(component, "listens_to", None)
        if callable(listens_to) and listens_to(self):
            self.add_listener(component, component.name)

    def predict(self, docs: Iterable[Doc]):
        """Class probabilities, shape (n_docs, n_labels); docs without tokens are scored too.
        While a listener is attached (and with an LSTM encoder): a tuple (probabilities,
        per-doc states)."""
        docs = list(docs)
        install_fork_hook()
        if not docs:
            return self.model.ops.alloc2f(0, len(self.labels))
        from .probe import has_states, predict_with_states

        if self.keep_states and has_states(self.model):
            scores, states = predict_with_states(self.model, docs)
            return self.model.ops.asarray(scores), states
        return self.model.ops.asarray(self.model.predict(docs))

    def set_annotations(self, docs: Iterable[Doc], scores) -> None:
        states = None
        if isinstance(scores, tuple):
            scores, states = scores
        super().set_annotations(docs, scores)
        band = self.cfg.get("uncertain_band")
        column = self.labels.index(self.positive_label) if band and self.labels else None
        for i, doc in enumerate(docs):
            if column is not None:
                doc._.set(UNCERTAIN_ATTR, bool(band[0] <= float(scores[i, column]) <= band[1]))
            if states is not None:
                self.kept_states.put(doc, states[i])

    def get_loss(self, examples: Iterable[Example], scores) -> tuple[float, Any]:
        """The configured loss and its gradient with respect to the logits."""
        validate_examples(examples, "KexueTextCategorizer.get_loss")
        self._validate_categories(examples)
        truths, not_missing = self._examples_to_truth(examples)
        scores = self.model.ops.to_numpy(scores)
        grad, loss = self.loss.grad_and_loss(scores, truths, not_missing)
        return loss, self.model.ops.asarray(grad)

    def initialize(
        self,
        get_examples: Callable[[], Iterable[Example]],
        *,
        nlp: Language | None = None,
        labels: Iterable[str] | None = None,
        positive_label: str | None = None,
        vocab_min_count: int = 1,
        init_encoder: str | Path | None = None,
    ) -> None:
        """Build the encoder's vocabulary from every training doc, then initialize as spaCy's
        textcat does (labels from the data unless given). ``init_encoder``: a file written by
        ``kexue textcat pretrain``, whose vocabulary and weights the encoder starts from."""
        from .model import get_encoder, set_vocab

        encoder = get_encoder(self.model)
        if init_encoder is not None:
            from .pretrain import load_pretrained_encoder

            load_pretrained_encoder(encoder, init_encoder)
        elif set_vocab(encoder, (eg.reference for eg in get_examples()), vocab_min_count) == 0:
            raise ValueError(
                f"{self.name}: the training docs have no characters or words to build the "
                "encoder's vocabulary from. Check the training corpus."
            )
        super().initialize(get_examples, nlp=nlp, labels=labels, positive_label=positive_label)

    # The abstain band is a setting of the factory, not something learned: the value the
    # component was made with (the config's, overrides included) wins over the saved cfg.

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "KexueTextCategorizer":
        band = self.cfg["uncertain_band"]
        super().from_disk(path, exclude=exclude)
        self.cfg["uncertain_band"] = band
        return self

    def from_bytes(
        self, bytes_data: bytes, *, exclude: Iterable[str] = ()
    ) -> "KexueTextCategorizer":
        band = self.cfg["uncertain_band"]
        super().from_bytes(bytes_data, exclude=exclude)
        self.cfg["uncertain_band"] = band
        return self
