"""Builds the compiled parts (the ``.pyx`` files below); everything else is in setup.cfg."""

from Cython.Build import cythonize
from setuptools import Extension, setup

setup(
    ext_modules=cythonize(
        [
            Extension(
                "spacy_kexue.tokenizer._loops",
                ["spacy_kexue/tokenizer/_loops.pyx"],
                extra_compile_args=["-O3"],
            ),
            Extension(
                "spacy_kexue.saliency._paths",
                ["spacy_kexue/saliency/_paths.pyx"],
                extra_compile_args=["-O3"],
            ),
        ],
        compiler_directives={"language_level": "3"},
    )
)
