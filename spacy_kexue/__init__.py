"""spacy-kexue: Chinese NLP for spaCy from the methods of kexue.fm.

Importing this package is cheap: it registers nothing heavy and never imports
torch or PIL. Registered functions are found by spaCy through the entry points
declared in setup.cfg; the heavy modules load when a config first names them.
"""

from .about import __version__
from .errors import KexueError

__all__ = ["KexueError", "__version__"]
