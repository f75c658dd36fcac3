"""Token saliency (``kexue_saliency``): which words moved the sentiment LSTM toward its decision.

:mod:`.scores` holds the formula, :mod:`.extensions` the ``Doc``/``Span``/``Token`` attributes,
:mod:`.component` the pipeline component and :mod:`.render` the HTML picture. The states it reads
come from :mod:`spacy_kexue.textcat.probe`. Importing this package never imports torch or spaCy:
the public names below load on first use.
"""

from ..lazy import lazy_exports

__all__ = ["KexueSaliency", "NoSaliencyError", "render_saliency", "token_saliency"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "KexueSaliency": ".component",
        "NoSaliencyError": ".extensions",
        "render_saliency": ".render",
        "token_saliency": ".scores",
    },
)
