"""Fonts for synthetic OCR data: which may be used, where they are, which glyphs they have.

Training renders from the allowed families only (:data:`ALLOWED_FAMILIES`; Debian packages
fonts-noto-cjk, fonts-wqy-zenhei, fonts-wqy-microhei, fonts-arphic-uming). Three families are
reserved for evaluation and must never be used for training or tuning
(:data:`RESERVED_FAMILIES`, files :data:`RESERVED_FILES`; see the OCR section of the data
README). :func:`check_allowed` is the guard: it refuses a reserved font by family name, by its
own name table and by file name (also through a symlink), and every code path that loads a font
for training calls it (:func:`spacy_kexue.ocr.render.load_font` does).

:func:`find_fonts` discovers installed faces by reading the name tables of the font files under
the usual font folders (fontTools, imported lazily). Within a font collection it picks the
Simplified-Chinese face: ``Noto Sans CJK SC`` (not JP/KR/TC/HK, not the Mono faces), ``AR PL
UMing CN`` (not HK/TW), ``WenQuanYi Zen Hei`` (not Mono/Sharp). Each weight (Regular, Bold, ...)
is its own :class:`FontSpec`.
"""

from __future__ import annotations

import os
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import KexueError

__all__ = [
    "ALLOWED_FAMILIES",
    "DEFAULT_FONT_DIRS",
    "RESERVED_FAMILIES",
    "RESERVED_FILES",
    "FontError",
    "FontSpec",
    "ReservedFontError",
    "check_allowed",
    "coverage",
    "find_fonts",
    "is_reserved",
]

#: Families the recogniser may be trained and tuned on.
ALLOWED_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "AR PL UMing",
)

#: Families reserved for evaluation: never train or tune on them.
RESERVED_FAMILIES: tuple[str, ...] = ("AR PL UKai", "AR PL KaitiM GB", "AR PL SungtiL GB")

#: File names of the reserved fonts (packages fonts-arphic-ukai, -gkai00mp, -gbsn00lp).
RESERVED_FILES: tuple[str, ...] = ("ukai.ttc", "gkai00mp.ttf", "gbsn00lp.ttf")

#: Where :func:`find_fonts` looks when no folders are given (missing ones are skipped).
DEFAULT_FONT_DIRS: tuple[str, ...] = (
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "~/.fonts",
    "~/.local/share/fonts",
)

_FONT_SUFFIXES = (".ttf", ".ttc", ".otf", ".otc")
# A family in a collection may carry a region suffix; only the Simplified-Chinese one is taken.
_REGION_SUFFIXES = ("", " CN", " SC")
# Reserved names, normalised (see _norm): the families, their PostScript names ("UKaiCN") and
# their Chinese names (文鼎ＰＬ中楷, 文鼎ＰＬ简中楷, 文鼎ＰＬ简报宋). A name is reserved when its
# normalised form starts with one of these.
_RESERVED_PREFIXES = (
    "arplukai",
    "ukai",
    "arplkaitimgb",
    "arplsungtilgb",
    "文鼎pl中楷",
    "文鼎pl简中楷",
    "文鼎pl简报宋",
)
_RESERVED_STEMS = tuple(name.split(".")[0] for name in RESERVED_FILES)
# Name-table entries checked by the guard: family, full name, PostScript name, typographic family.
_GUARD_NAME_IDS = (1, 4, 6, 16)


class FontError(KexueError, ValueError):
    """A font file cannot be read or lacks what was asked of it."""


class ReservedFontError(FontError):
    """A font reserved for evaluation was about to be used for training or tuning."""


@dataclass(frozen=True)
class FontSpec:
    """One font face: ``path`` to the file, ``index`` of the face in a ``.ttc`` collection (0 for
    plain ``.ttf``/``.otf``), the canonical ``family`` (as in :data:`ALLOWED_FAMILIES`) and the
    ``style`` (subfamily: ``"Regular"``, ``"Bold"``, ``"Light"``...)."""

    path: str
    index: int = 0
    family: str = ""
    style: str = "Regular"

    @property
    def name(self) -> str:
        """``"family style"``, for logs and reports."""
        return f"{self.family} {self.style}".strip()

    def to_dict(self) -> dict:
        """A JSON-friendly dict (``FontSpec(**d)`` reads it back)."""
        return {"path": self.path, "index": self.index, "family": self.family, "style": self.style}


def _norm(name: str) -> str:
    """NFKC, case-folded, letters and digits only: ``"AR PL UKai CN"`` -> ``"arplukaicn"``."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", name).casefold() if ch.isalnum())


def _reserved_name(name: str) -> bool:
    return _norm(name).startswith(_RESERVED_PREFIXES)


def _reserved_file(path: str | os.PathLike) -> bool:
    name = os.path.basename(os.fspath(path)).lower()
    return name.split(".")[0] in _RESERVED_STEMS


def _file_key(path: str) -> tuple[str, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (os.path.realpath(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=256)
def _read_faces(key: tuple[str, int, int]) -> tuple[tuple[dict[int, tuple[str, ...]], ...], str]:
    """Name records of every face of a font file: ``(faces, error)``; ``faces[i][name_id]`` is the
    tuple of distinct strings (all platforms and languages, English first). An unreadable file
    gives ``((), message)``."""
    from fontTools.ttLib import TTCollection, TTFont

    path = key[0]
    try:
        with open(path, "rb") as fh:
            is_collection = fh.read(4) == b"ttcf"
        if is_collection:
            fonts = list(TTCollection(path, lazy=True).fonts)
        else:
            fonts = [TTFont(path, lazy=True)]
        faces = []
        for font in fonts:
            records: dict[int, list[str]] = {}
            table = font["name"]
            english = [r for r in table.names if r.langID in (0, 0x409)]
            others = [r for r in table.names if r.langID not in (0, 0x409)]
            for record in english + others:
                try:
                    text = record.toUnicode().strip()
                except UnicodeDecodeError:
                    continue
                values = records.setdefault(record.nameID, [])
                if text and text not in values:
                    values.append(text)
            faces.append({k: tuple(v) for k, v in records.items()})
        return tuple(faces), ""
    except Exception as err:  # fontTools raises many types (struct.error, KeyError...) on junk
        return (), f"{type(err).__name__}: {err}"


def _face_names(path: str, index: int | None) -> list[str]:
    """Every guard-relevant name of face ``index`` (all faces when None); [] if unreadable."""
    key = _file_key(path)
    if key is None:
        return []
    faces, _ = _read_faces(key)
    chosen = faces if index is None else faces[index : index + 1]
    return [name for face in chosen for nid in _GUARD_NAME_IDS for name in face.get(nid, ())]


def is_reserved(spec_or_path: FontSpec | str | os.PathLike) -> str | None:
    """Why the font is reserved for evaluation (a short reason), or None when it is not.

    Checks the file name (and, through symlinks, the real file's name), the spec's ``family`` and,
    when the file exists and is readable, the names in its name table (family, full name,
    PostScript name, typographic family; all languages).
    """
    if isinstance(spec_or_path, FontSpec):
        path, index, family = spec_or_path.path, spec_or_path.index, spec_or_path.family
    else:
        path, index, family = os.fspath(spec_or_path), None, ""
    for candidate in (path, os.path.realpath(path)):
        if _reserved_file(candidate):
            return f"file name {os.path.basename(candidate)!r}"
    if family and _reserved_name(family):
        return f"family {family!r}"
    for name in _face_names(path, index):
        if _reserved_name(name):
            return f"name {name!r} in the font's name table"
    return None


def check_allowed(spec_or_path: FontSpec | str | os.PathLike) -> None:
    """Raise :class:`ReservedFontError` if the font is reserved for evaluation (see
    :func:`is_reserved`); return None otherwise. Does not check that the file exists.

    Every code path that loads a font for training or tuning must call this.
    """
    reason = is_reserved(spec_or_path)
    if reason is not None:
        path = spec_or_path.path if isinstance(spec_or_path, FontSpec) else spec_or_path
        raise _reserved_error(f"{os.fspath(path)}: this font", reason)


def _reserved_error(what: str, reason: str) -> ReservedFontError:
    return ReservedFontError(
        f"{what} is reserved for evaluation ({reason}; reserved families: "
        f"{', '.join(RESERVED_FAMILIES)}; files: {', '.join(RESERVED_FILES)}). Never train or "
        f"tune on it: use the allowed fonts ({', '.join(ALLOWED_FAMILIES)}). Only evaluation "
        "code may use it, by passing allow_reserved=True."
    )


def _font_files(dirs: Iterable[str | os.PathLike]) -> list[str]:
    files: list[str] = []
    seen: set[str] = set()
    for folder in dirs:
        root = Path(os.path.expanduser(os.fspath(folder)))
        if not root.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            for filename in sorted(filenames):
                if not filename.lower().endswith(_FONT_SUFFIXES):
                    continue
                path = os.path.join(dirpath, filename)
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                files.append(path)
    return files


def _first(face: dict[int, tuple[str, ...]], *name_ids: int) -> str:
    for nid in name_ids:
        values = face.get(nid)
        if values:
            return values[0]
    return ""


def find_fonts(
    families: Sequence[str] = ALLOWED_FAMILIES,
    dirs: Sequence[str | os.PathLike] | None = None,
    *,
    allow_reserved: bool = False,
) -> list[FontSpec]:
    """The installed faces of ``families``, one :class:`FontSpec` per face and weight.

    Scans ``dirs`` (default :data:`DEFAULT_FONT_DIRS`) recursively for ``.ttf/.ttc/.otf/.otc``
    files and reads their names with fontTools. A face matches a family when its (typographic)
    family name is the family itself or the family plus `` CN``/`` SC`` (case and spacing
    ignored). Families that are not installed are skipped; unreadable files are ignored. The result
    is in the order of ``families``, then by style and path; the same (family, style) found twice
    (a copy in ``~/.fonts``) is kept once, the first folder winning.

    Asking for a reserved family raises :class:`ReservedFontError` unless ``allow_reserved=True``
    (evaluation code only); a file whose name is reserved is never returned for an allowed family.
    """
    if isinstance(families, str):
        families = (families,)
    if not allow_reserved:
        for family in families:
            if _reserved_name(family):
                raise _reserved_error(f"The font family {family!r}", "by name")
    wanted = {_norm(family + suffix): family for family in families for suffix in _REGION_SUFFIXES}
    found: dict[tuple[str, str], FontSpec] = {}
    for path in _font_files(DEFAULT_FONT_DIRS if dirs is None else dirs):
        key = _file_key(path)
        if key is None:
            continue
        faces, _ = _read_faces(key)
        for index, face in enumerate(faces):
            family = wanted.get(_norm(_first(face, 16, 1)))
            if family is None:
                continue
            style = _first(face, 17, 2) or "Regular"
            spec = FontSpec(path=path, index=index, family=family, style=style)
            if not allow_reserved and is_reserved(spec) is not None:
                warnings.warn(
                    f"{path}: face {index} is named {family!r} but the font is reserved for "
                    f"evaluation ({is_reserved(spec)}); skipped.",
                    stacklevel=2,
                )
                continue
            found.setdefault((family, style), spec)
    order = {family: i for i, family in enumerate(families)}
    return sorted(found.values(), key=lambda s: (order[s.family], _style_rank(s.style), s.path))


def _style_rank(style: str) -> tuple[int, str]:
    ranks = {"regular": 0, "book": 0, "light": 1, "medium": 2, "bold": 3}
    return (ranks.get(style.lower(), 4), style)


@lru_cache(maxsize=64)
def _cmap(key: tuple[str, int, int], index: int) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(key[0], fontNumber=index, lazy=True)
    best = font.getBestCmap() or {}
    return frozenset(code for code, glyph in best.items() if glyph != ".notdef")


def coverage(spec: FontSpec, chars: Iterable[str]) -> set[str]:
    """The characters of ``chars`` that the face maps to a glyph (its Unicode cmap).

    Raises :class:`FontError` naming the file when it is missing or not a readable font.
    """
    key = _file_key(spec.path)
    if key is None:
        raise FontError(
            f"{spec.path}: font file not found. Run find_fonts() to list installed fonts."
        )
    try:
        codes = _cmap(key, spec.index)
    except Exception as err:  # fontTools raises many types for broken files
        raise FontError(
            f"{spec.path} (face {spec.index}): cannot read the character map ({type(err).__name__}: "
            f"{err}). Check that the file is a TrueType/OpenType font and the face index exists."
        ) from None
    return {ch for ch in chars if len(ch) == 1 and ord(ch) in codes}
