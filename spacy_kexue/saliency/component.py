"""``kexue_saliency``: per-token saliency of the sentiment textcat's decision.

    [components.saliency]
    factory = "kexue_saliency"
    method = "states"          # Su's formula on the textcat's LSTM states, or "occlusion"
    state = "decision"         # which state the formula reads: "lstm", "pooled", "decision"
    direction = "both"         # BiLSTM: "forward", "backward" or "both"
    formula = "projection"     # Su's formula's first-order form, or the formula itself "distance"

(:mod:`.scores` defines each setting; the defaults were picked on the dev split by the agreement
with occlusion per confidence band, ``benchmarks/saliency_agreement.py``, and they lead the
deletion benchmark on the test split, ``benchmarks/saliency.py``.)

Placed after a ``kexue_textcat``. With ``method = "states"`` this component listens to that
textcat's LSTM states, as spaCy's ``Tok2VecListener`` listens to a ``Tok2Vec``: it registers
itself with the textcat (``textcat.add_listener``) when it is made and when its method changes,
and spaCy relinks the two whenever the pipeline changes (``Language._link_components`` calls
the textcat's ``find_listeners``, which asks :meth:`KexueSaliency.listens_to`; so removing this
component, or switching it to occlusion, stops the textcat keeping states). While it listens,
the textcat's own forward pass leaves each doc's LSTM states in its ``kept_states`` store (in
memory, beside the doc); this component takes them from there and turns them into
``doc._.saliency``. With ``keep_states = true`` it also puts them on the doc, in
``doc._.kexue_states`` (serialized with the doc: large). It holds a reference to the textcat,
never a copy of its weights (after ``nlp.replace_pipe`` of the textcat it follows the new
one). A doc that arrives without states (a textcat disabled or placed after this component)
gets them from the textcat's model in one batched pass. The class explained is the textcat's
predicted one: the highest of its labels in ``doc.cats`` or, for a doc the textcat did not
score (disabled, or placed after this component), the model's; ``doc.cats`` itself is left to
the textcat.

Settings given in the config win at load time (``spacy.load(..., config={"components":
{"saliency": {"method": "occlusion"}}})``), as the factory's arguments; a change made with
:meth:`KexueSaliency.configure` is saved with the pipeline.

``method = "occlusion"`` is the leave-one-out reference: each token's score is the drop of the
predicted class's probability when the token is deleted (one extra row per token; exact, slower,
and it works with the CNN encoder too).

No ``from __future__ import annotations``: spaCy validates the factory's signature.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import ensure_path, minibatch

from ..errors import DataFileError
from ..integrity import read_json_file
from ..textcat.component import KexueTextCategorizer
from .extensions import SALIENCY_ATTR, STATES_ATTR
from .scores import DIRECTIONS, FORMULAS, STATES

METHODS = ("states", "occlusion")
CHOICES = {"method": METHODS, "state": STATES, "direction": DIRECTIONS, "formula": FORMULAS}
DEFAULTS: dict[str, str | bool] = {
    "method": "states",
    "state": "decision",
    "direction": "both",
    "formula": "projection",
    "keep_states": False,
}
CFG_FILE = "cfg.json"
MADE_WITH = "made_with"


@Language.factory(
    "kexue_saliency",
    assigns=[f"doc._.{SALIENCY_ATTR}", f"token._.{SALIENCY_ATTR}"],
    requires=["doc.cats"],
    default_config={"textcat": None, **DEFAULTS},
)
def make_kexue_saliency(
    nlp: Language,
    name: str,
    textcat: str | None,
    method: str,
    state: str,
    direction: str,
    formula: str,
    keep_states: bool,
) -> "KexueSaliency":
    return KexueSaliency(
        find_textcat(nlp, textcat, name),
        name,
        method=method,
        state=state,
        direction=direction,
        formula=formula,
        keep_states=keep_states,
    )


def find_textcat(nlp: Language, textcat: str | None, name: str) -> KexueTextCategorizer:
    """The named ``kexue_textcat``, or the last one already in the pipeline."""
    if textcat is not None:
        if textcat not in nlp.component_names:
            raise ValueError(
                f"{name}: textcat = {textcat!r} is not in the pipeline "
                f"(components: {nlp.component_names}). Add the kexue_textcat first."
            )
        component = nlp.get_pipe(textcat)
        if not isinstance(component, KexueTextCategorizer):
            raise ValueError(
                f"{name}: component {textcat!r} is a {type(component).__name__}, not a "
                "kexue_textcat: saliency reads the kexue_textcat's LSTM."
            )
        return component
    found = [c for _, c in nlp.pipeline if isinstance(c, KexueTextCategorizer)]
    if not found:
        raise ValueError(
            f"{name}: the saliency component needs a kexue_textcat before it in the pipeline. Add one "
            "first (nlp.add_pipe('kexue_textcat')), or name it with textcat = \"...\"."
        )
    return found[-1]


class KexueSaliency:
    """Sets ``doc._.saliency`` (and so ``token._.saliency``) from a ``kexue_textcat``."""

    def __init__(
        self,
        textcat: KexueTextCategorizer,
        name: str = "kexue_saliency",
        *,
        method: str = "states",
        state: str = "decision",
        direction: str = "both",
        formula: str = "projection",
        keep_states: bool = False,
    ) -> None:
        self.textcat = textcat
        self.name = name
        self.cfg: dict[str, str | bool] = {}
        self.configure(
            method=method,
            state=state,
            direction=direction,
            formula=formula,
            keep_states=keep_states,
        )
        # The settings this component was made with (from the config): a config override at
        # load time differs from the ones the saved component was made with, and wins.
        self.made_with = dict(self.cfg)

    def configure(self, **settings: str | bool | None) -> None:
        """Change settings (those not given, or None, keep their value), checked against the
        textcat."""
        given = {key: value for key, value in settings.items() if value is not None}
        self._check_choices(given)
        cfg = {**DEFAULTS, **self.cfg, **given}
        if cfg["method"] == "states":
            from ..textcat.probe import has_states, state_layout

            if not has_states(self.textcat.model):
                raise ValueError(
                    f"{self.name}: the textcat {self.textcat.name!r} has no LSTM states (a CNN "
                    'encoder?). Use method = "occlusion", or an LSTM encoder.'
                )
            directions = state_layout(self.textcat.model)["features"]
            if cfg["direction"] == "backward" and "backward" not in directions:
                raise ValueError(
                    f"{self.name}: direction 'backward' needs a bidirectional encoder; "
                    f"the textcat {self.textcat.name!r} reads forward only."
                )
        cfg["keep_states"] = bool(cfg["keep_states"])
        previous = self.cfg.get("method")
        self.cfg = cfg
        if cfg["method"] != previous:
            if cfg["method"] == "states":
                self.textcat.add_listener(self, self.name)
            else:
                self.textcat.remove_listener(self, self.name)

    def _check_choices(self, settings: dict) -> None:
        """Each of ``settings`` is known and takes one of its allowed values."""
        unknown = set(settings) - set(DEFAULTS)
        if unknown:
            raise ValueError(
                f"{self.name}: unknown settings {sorted(unknown)}; use {list(DEFAULTS)}"
            )
        for setting, allowed in CHOICES.items():
            if setting in settings and settings[setting] not in allowed:
                raise ValueError(
                    f"{self.name}: {setting} must be one of {allowed}, got {settings[setting]!r}"
                )

    def listens_to(self, textcat: KexueTextCategorizer) -> bool:
        """Whether this component reads ``textcat``'s LSTM states (the textcat's
        ``find_listeners`` asks, whenever spaCy relinks the pipeline): its own textcat, with
        ``method = "states"``. A different textcat of the same name has replaced its textcat
        (``nlp.replace_pipe``: names are unique in a pipeline), so it follows that one."""
        if textcat is not self.textcat:
            if textcat.name != self.textcat.name:
                return False
            self._follow(textcat)
        return self.method == "states"

    def _follow(self, textcat: KexueTextCategorizer) -> None:
        """Read ``textcat`` from now on (the settings are checked against it first)."""
        previous = self.textcat
        self.textcat = textcat
        try:
            self.configure()
        except ValueError:
            self.textcat = previous
            raise
        previous.remove_listener(self, self.name)

    @property
    def method(self) -> str:
        return str(self.cfg["method"])

    def __call__(self, doc: Doc) -> Doc:
        self.set_annotations([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterator[Doc]:
        for docs in minibatch(stream, size=batch_size):
            self.set_annotations(docs)
            yield from docs

    def set_annotations(self, docs: list[Doc]) -> None:
        from ..textcat.probe import (
            decision_weights,
            occlusion_saliency,
            predict_with_states,
            state_layout,
        )
        from .scores import token_saliency

        model = self.textcat.model
        if self.method == "occlusion":
            for doc in docs:
                doc._.set(SALIENCY_ATTR, occlusion_saliency(model, doc).tolist())
            return
        states = [self.textcat.kept_states.pop(doc) for doc in docs]
        labels = self.textcat.labels
        # the class explained: the textcat's prediction, from doc.cats, or from the model for a
        # doc the textcat did not see (disabled, or after this component); doc.cats is the
        # textcat's to set, never this component's
        predicted: list[str | None] = [
            max(labels, key=lambda name: doc.cats[name])
            if all(label in doc.cats for label in labels)
            else None
            for doc in docs
        ]
        missing = [i for i in range(len(docs)) if states[i] is None or predicted[i] is None]
        if missing:
            probs, recomputed = predict_with_states(model, [docs[i] for i in missing])
            for i, doc_probs, doc_states in zip(missing, probs, recomputed, strict=True):
                states[i] = doc_states
                if predicted[i] is None:
                    predicted[i] = labels[int(doc_probs.argmax())]
        pooling = state_layout(model)["pooling"]
        weights: dict[str, dict] = {}
        for doc, doc_states, label in zip(docs, states, predicted, strict=True):
            if self.cfg["state"] == "decision" and label not in weights:
                weights[label] = decision_weights(model, labels.index(label))
            scores = token_saliency(
                doc_states,
                direction=str(self.cfg["direction"]),
                state=str(self.cfg["state"]),
                formula=str(self.cfg["formula"]),
                pooling=pooling,
                weights=weights.get(label),
            )
            doc._.set(SALIENCY_ATTR, scores.tolist())
            if self.cfg["keep_states"]:
                doc._.set(STATES_ATTR, doc_states)

    # --- serialization: the settings only (the weights are the textcat's) ------------------
    #
    # Saved: the current settings and, under "made_with", the ones the component was made with.
    # Loaded: a setting the config gives differently from the saved "made_with" is an override
    # (spacy.load(..., config=...)) and wins; every other setting comes back as it was saved,
    # so a change made with configure() before saving survives the round trip. Files without
    # "made_with" (spacy-kexue 0.1.0) were saved as they were made.

    def _saved(self) -> dict:
        return {**self.cfg, MADE_WITH: self.made_with}

    def _restore(self, saved: dict) -> None:
        saved = dict(saved)
        made_with = saved.pop(MADE_WITH, saved)
        if not isinstance(made_with, dict):
            raise ValueError(f"{self.name}: {MADE_WITH} must be an object of settings")
        self._check_choices(saved)  # what was saved must be usable, even where the config wins
        settings = {
            key: self.made_with[key]
            if self.made_with[key] != made_with.get(key)
            else saved.get(key)
            for key in DEFAULTS
        }
        self.configure(**settings)

    def to_bytes(self, *, exclude: Iterable[str] = ()) -> bytes:
        return srsly.json_dumps(self._saved()).encode("utf-8")

    def from_bytes(self, data: bytes, *, exclude: Iterable[str] = ()) -> "KexueSaliency":
        self._restore(srsly.json_loads(data.decode("utf-8")))
        return self

    def to_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> None:
        path = ensure_path(path)
        path.mkdir(parents=True, exist_ok=True)
        srsly.write_json(path / CFG_FILE, self._saved())

    def from_disk(self, path: str | Path, *, exclude: Iterable[str] = ()) -> "KexueSaliency":
        path = ensure_path(path) / CFG_FILE
        settings = read_json_file(path)
        try:
            self._restore(settings)
        except ValueError as err:
            raise DataFileError(
                f"holds settings this pipeline cannot use: {err}", path=path
            ) from None
        return self
