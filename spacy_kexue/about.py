__title__ = "spacy-kexue"
__version__ = "0.1.0"
