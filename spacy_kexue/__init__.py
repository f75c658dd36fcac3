"""spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.

Importing this package is cheap: it registers nothing heavy and never imports
torch or PIL. Registered functions are found by spaCy through the entry points
declared in setup.cfg; the heavy modules load when a config first names them.
"""

from .about import __version__
from .errors import KexueError

__all__ = ["KexueError", "__version__", "render_saliency"]


def __getattr__(name: str):
    # Imported on first use, so that `import spacy_kexue` stays cheap (no spaCy, no torch).
    if name == "render_saliency":
        from .saliency.render import render_saliency

        return render_saliency
    raise AttributeError(f"module 'spacy_kexue' has no attribute {name!r}")
