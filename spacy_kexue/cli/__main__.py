"""``python -m spacy_kexue.cli``: the ``kexue`` command line."""

from . import main

if __name__ == "__main__":
    main()
