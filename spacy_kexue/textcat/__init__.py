"""Sentiment classification (``kexue_textcat``) trained with kexue.fm's threshold loss.

:mod:`.component` holds the pipeline component, :mod:`.model` the registered encoder and
classifier architectures (:mod:`.nets` their PyTorch modules, :mod:`.featurize` docs -> unit
ids), :mod:`.losses` the registered losses, :mod:`.labelled` the labelled JSONL data and
:mod:`.metrics` the scores, :mod:`.pretrain` the encoder's language-model pretraining. Light to import: the public names below load on first use.
"""

from ..lazy import lazy_exports

__all__ = [
    "NEGATIVE",
    "POSITIVE",
    "CrossEntropy",
    "KexueTextCategorizer",
    "SoftThresholdLoss",
    "ThresholdLoss",
    "binary_scores",
    "convert",
    "read_labelled",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "NEGATIVE": ".labelled",
        "POSITIVE": ".labelled",
        "CrossEntropy": ".losses",
        "KexueTextCategorizer": ".component",
        "SoftThresholdLoss": ".losses",
        "ThresholdLoss": ".losses",
        "binary_scores": ".metrics",
        "convert": ".labelled",
        "read_labelled": ".labelled",
    },
)
