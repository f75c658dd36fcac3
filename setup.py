"""Builds the compiled part (``spacy_kexue/tokenizer/_loops.pyx``); everything else is in setup.cfg."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "spacy_kexue.tokenizer._loops",
                ["spacy_kexue/tokenizer/_loops.pyx"],
                extra_compile_args=["-O3"],
            )
        ],
        compiler_directives={"language_level": "3"},
    )
)
