"""spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.

Importing this package is cheap: it registers nothing heavy and never imports torch, PIL or
spaCy. Registered functions are found by spaCy through the entry points declared in setup.cfg;
the heavy modules load when a config first names them, or when a public name below is first used.

Subpackages: :mod:`.tokenizer` (the dictionary-trained segmenter), :mod:`.textcat` (sentiment),
:mod:`.saliency`, :mod:`.vae` (document vectors), :mod:`.ocr` (printed-Chinese OCR) and
:mod:`.corpus` (the ``kexue pipe`` runner); each lists its public names in ``__all__``.
"""

from .about import __version__
from .errors import DataFileError, KexueError
from .lazy import lazy_exports

__all__ = ["DataFileError", "KexueError", "__version__", "render_saliency"]

__getattr__, __dir__ = lazy_exports(__name__, {"render_saliency": ".saliency.render"})
