"""What the installed default pipeline zh_kexue_sm contains (tests of shipped parts skip until
the package has them)."""

from __future__ import annotations

import spacy


def shipped_pipe_names() -> list[str]:
    """The pipe names in zh_kexue_sm's config, read without loading it; [] if not installed."""
    if not spacy.util.is_package("zh_kexue_sm"):
        return []
    path = spacy.util.get_package_path("zh_kexue_sm")
    configs = sorted(path.glob("zh_kexue_sm-*/config.cfg"))
    return list(spacy.util.load_config(configs[-1])["nlp"]["pipeline"]) if configs else []
