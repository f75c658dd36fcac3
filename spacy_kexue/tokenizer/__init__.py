"""The dictionary-trained word segmenter, used as spaCy's zh tokenizer
(``spacy_kexue.DictSegmenter.v1``).

:mod:`.dictionary` reads word-frequency dictionaries, :mod:`.pseudo_sentences` samples tagged
pseudo-sentences from them, :mod:`.model`/:mod:`.nets` hold the char taggers, :mod:`.decode`
the constrained Viterbi and user words, :mod:`.segmenter` the tokenizer itself and
:mod:`.train` its training. Light to import: the public names below load on first use, and
torch is imported inside the functions that need it.
"""

from ..lazy import lazy_exports

__all__ = [
    "KexueSegmenter",
    "UserDictionary",
    "WordDict",
    "load_dictionary",
    "train_segmenter",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "KexueSegmenter": ".segmenter",
        "UserDictionary": ".decode",
        "WordDict": ".dictionary",
        "load_dictionary": ".dictionary",
        "train_segmenter": ".train",
    },
)
