"""What spacy-kexue registers, read from its entry points (setup.cfg).

spaCy and thinc find registered functions through entry-point groups named
``spacy_<registry>`` and ``thinc_<registry>``; listing them here needs no import
of the modules that define them.
"""

from __future__ import annotations

from importlib import metadata

DISTRIBUTION = "spacy-kexue"
REGISTRY_GROUP_PREFIXES = ("spacy_", "thinc_")


def registered_names() -> dict[str, list[str]]:
    """Map each registry entry-point group to the names this package fills in it."""
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return {}
    groups: dict[str, list[str]] = {}
    for ep in dist.entry_points:
        if ep.group.startswith(REGISTRY_GROUP_PREFIXES) and ep.group != "spacy_models":
            groups.setdefault(ep.group, []).append(ep.name)
    return {group: sorted(names) for group, names in sorted(groups.items())}


def resolve(group: str, name: str):
    """Look a registered name up through spaCy's/thinc's own registry objects."""
    import spacy  # noqa: F401  (fills thinc's registry with spaCy's entries too)
    from spacy.util import registry

    namespace, _, reg_name = group.partition("_")
    if group == "spacy_factories":
        # spaCy keeps factories from entry points in a registry of their own
        return registry._entry_point_factories.get(name)
    if not hasattr(registry, reg_name):
        raise KeyError(f"{group}: no registry called {reg_name!r} in spacy.util.registry")
    return getattr(registry, reg_name).get(name)
