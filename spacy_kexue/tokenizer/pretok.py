"""Rule pre-tokenisation: split a text into runs before the character model sees it.

Digits, Latin letters, whitespace, punctuation and symbols are split off by one compiled
regular expression (METHODS.md section 1); only the ``"han"`` runs go to the char tagger.

:func:`split_runs` partitions *any* Python ``str`` (emoji, combining marks, control
characters, NUL, bidi controls, full-width forms, lone surrogates) into consecutive
``(start, end, kind)`` spans that cover the text exactly. Kinds:

``"han"``
    CJK ideographs (URO, extensions A-I, compatibility ideographs), 々, and 〇/○ used as zero.
    Chinese numerals (一二三...) are han. Combining marks and variation selectors (IVS)
    stay attached to the ideograph before them, so a han span may contain them: the
    segmenter must not start a word at such a character (see :func:`is_attached`).
``"num"``
    ASCII or full-width digits with internal ``.`` ``,`` ``:`` ``．`` between digits and an
    optional trailing ``%``/``％``/``‰``: ``3.14``, ``1,000``, ``50%``, ``１２３``, ``10:30``.
``"latin"``
    Letters of the Latin, Greek and Cyrillic scripts (ASCII, accented, pinyin with tone marks,
    full-width), with internal digits and joiners ``- . _ ' ’ & / @`` between alphanumerics,
    a trailing ``++``/``#`` (``C++``, ``C#``) and dotted abbreviations (``U.S.``, ``e.g.``).
    Digits directly followed by letters belong to the latin run: ``5G``, ``3D``, ``100km``
    (but ``3.5GHz`` is ``num`` ``3.5`` + ``latin`` ``GHz``).
``"space"``
    A run of whitespace (``str.isspace``: spaces, tabs, newlines, U+3000, NBSP, ...).
``"punct"``
    One punctuation mark (Unicode categories P*, plus ASCII ``$+<=>^`|~`` and their full-width
    forms), except that a repeated mark stays one span: ``——``, ``……``, ``...``, ``!!!``.
``"other"``
    Everything else, one grapheme-like unit per span: an emoji with its modifiers, variation
    selectors, tag characters and ZWJ-joined parts, a regional-indicator pair (flag), a keycap,
    a symbol, a control or format character (NUL, U+202E), kana, hangul, ... Combining marks
    stay attached to their base; a mark with no base (at the start, after a space) is a unit of
    its own.

Whatever the kind, attached characters (:func:`is_attached`: combining marks, variation
selectors, ZWJ, ZWNJ, emoji modifiers, tag characters) stay in the span of the character before
them (``‼\ufe0f`` is one punct span, ``C#\u0301`` one latin span, ``好\u200d`` one han span):
a span starts with one only at the start of the text or after a space run.

The character tables below were generated from ``unicodedata`` (Unicode 14.0, Python 3.11), so
the answer does not depend on the Python version; ``tests/tokenizer/test_pretok.py`` checks them.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache
from itertools import pairwise

__all__ = [
    "KINDS",
    "attached_positions",
    "chunk_spans",
    "is_attached",
    "split_runs",
]

KINDS = ("han", "num", "latin", "space", "punct", "other")

# --- generated tables (categories M*, P*, letters of the Latin/Greek/Cyrillic blocks) ---------
_MARKS = (
    r"\u0300-\u036F\u0483-\u0489\u0591-\u05BD\u05BF\u05C1-\u05C2\u05C4-\u05C5\u05C7"
    r"\u0610-\u061A\u064B-\u065F\u0670\u06D6-\u06DC\u06DF-\u06E4\u06E7-\u06E8\u06EA-\u06ED"
    r"\u0711\u0730-\u074A\u07A6-\u07B0\u07EB-\u07F3\u07FD\u0816-\u0819\u081B-\u0823"
    r"\u0825-\u0827\u0829-\u082D\u0859-\u085B\u0898-\u089F\u08CA-\u08E1\u08E3-\u0903"
    r"\u093A-\u093C\u093E-\u094F\u0951-\u0957\u0962-\u0963\u0981-\u0983\u09BC\u09BE-\u09C4"
    r"\u09C7-\u09C8\u09CB-\u09CD\u09D7\u09E2-\u09E3\u09FE\u0A01-\u0A03\u0A3C\u0A3E-\u0A42"
    r"\u0A47-\u0A48\u0A4B-\u0A4D\u0A51\u0A70-\u0A71\u0A75\u0A81-\u0A83\u0ABC\u0ABE-\u0AC5"
    r"\u0AC7-\u0AC9\u0ACB-\u0ACD\u0AE2-\u0AE3\u0AFA-\u0AFF\u0B01-\u0B03\u0B3C\u0B3E-\u0B44"
    r"\u0B47-\u0B48\u0B4B-\u0B4D\u0B55-\u0B57\u0B62-\u0B63\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8"
    r"\u0BCA-\u0BCD\u0BD7\u0C00-\u0C04\u0C3C\u0C3E-\u0C44\u0C46-\u0C48\u0C4A-\u0C4D"
    r"\u0C55-\u0C56\u0C62-\u0C63\u0C81-\u0C83\u0CBC\u0CBE-\u0CC4\u0CC6-\u0CC8\u0CCA-\u0CCD"
    r"\u0CD5-\u0CD6\u0CE2-\u0CE3\u0D00-\u0D03\u0D3B-\u0D3C\u0D3E-\u0D44\u0D46-\u0D48"
    r"\u0D4A-\u0D4D\u0D57\u0D62-\u0D63\u0D81-\u0D83\u0DCA\u0DCF-\u0DD4\u0DD6\u0DD8-\u0DDF"
    r"\u0DF2-\u0DF3\u0E31\u0E34-\u0E3A\u0E47-\u0E4E\u0EB1\u0EB4-\u0EBC\u0EC8-\u0ECD"
    r"\u0F18-\u0F19\u0F35\u0F37\u0F39\u0F3E-\u0F3F\u0F71-\u0F84\u0F86-\u0F87\u0F8D-\u0F97"
    r"\u0F99-\u0FBC\u0FC6\u102B-\u103E\u1056-\u1059\u105E-\u1060\u1062-\u1064\u1067-\u106D"
    r"\u1071-\u1074\u1082-\u108D\u108F\u109A-\u109D\u135D-\u135F\u1712-\u1715\u1732-\u1734"
    r"\u1752-\u1753\u1772-\u1773\u17B4-\u17D3\u17DD\u180B-\u180D\u180F\u1885-\u1886\u18A9"
    r"\u1920-\u192B\u1930-\u193B\u1A17-\u1A1B\u1A55-\u1A5E\u1A60-\u1A7C\u1A7F\u1AB0-\u1ACE"
    r"\u1B00-\u1B04\u1B34-\u1B44\u1B6B-\u1B73\u1B80-\u1B82\u1BA1-\u1BAD\u1BE6-\u1BF3"
    r"\u1C24-\u1C37\u1CD0-\u1CD2\u1CD4-\u1CE8\u1CED\u1CF4\u1CF7-\u1CF9\u1DC0-\u1DFF"
    r"\u20D0-\u20F0\u2CEF-\u2CF1\u2D7F\u2DE0-\u2DFF\u302A-\u302F\u3099-\u309A\uA66F-\uA672"
    r"\uA674-\uA67D\uA69E-\uA69F\uA6F0-\uA6F1\uA802\uA806\uA80B\uA823-\uA827\uA82C"
    r"\uA880-\uA881\uA8B4-\uA8C5\uA8E0-\uA8F1\uA8FF\uA926-\uA92D\uA947-\uA953\uA980-\uA983"
    r"\uA9B3-\uA9C0\uA9E5\uAA29-\uAA36\uAA43\uAA4C-\uAA4D\uAA7B-\uAA7D\uAAB0\uAAB2-\uAAB4"
    r"\uAAB7-\uAAB8\uAABE-\uAABF\uAAC1\uAAEB-\uAAEF\uAAF5-\uAAF6\uABE3-\uABEA\uABEC-\uABED"
    r"\uFB1E\uFE00-\uFE0F\uFE20-\uFE2F\U000101FD\U000102E0\U00010376-\U0001037A"
    r"\U00010A01-\U00010A03\U00010A05-\U00010A06\U00010A0C-\U00010A0F\U00010A38-\U00010A3A"
    r"\U00010A3F\U00010AE5-\U00010AE6\U00010D24-\U00010D27\U00010EAB-\U00010EAC"
    r"\U00010F46-\U00010F50\U00010F82-\U00010F85\U00011000-\U00011002\U00011038-\U00011046"
    r"\U00011070\U00011073-\U00011074\U0001107F-\U00011082\U000110B0-\U000110BA\U000110C2"
    r"\U00011100-\U00011102\U00011127-\U00011134\U00011145-\U00011146\U00011173"
    r"\U00011180-\U00011182\U000111B3-\U000111C0\U000111C9-\U000111CC\U000111CE-\U000111CF"
    r"\U0001122C-\U00011237\U0001123E\U000112DF-\U000112EA\U00011300-\U00011303"
    r"\U0001133B-\U0001133C\U0001133E-\U00011344\U00011347-\U00011348\U0001134B-\U0001134D"
    r"\U00011357\U00011362-\U00011363\U00011366-\U0001136C\U00011370-\U00011374"
    r"\U00011435-\U00011446\U0001145E\U000114B0-\U000114C3\U000115AF-\U000115B5"
    r"\U000115B8-\U000115C0\U000115DC-\U000115DD\U00011630-\U00011640\U000116AB-\U000116B7"
    r"\U0001171D-\U0001172B\U0001182C-\U0001183A\U00011930-\U00011935\U00011937-\U00011938"
    r"\U0001193B-\U0001193E\U00011940\U00011942-\U00011943\U000119D1-\U000119D7"
    r"\U000119DA-\U000119E0\U000119E4\U00011A01-\U00011A0A\U00011A33-\U00011A39"
    r"\U00011A3B-\U00011A3E\U00011A47\U00011A51-\U00011A5B\U00011A8A-\U00011A99"
    r"\U00011C2F-\U00011C36\U00011C38-\U00011C3F\U00011C92-\U00011CA7\U00011CA9-\U00011CB6"
    r"\U00011D31-\U00011D36\U00011D3A\U00011D3C-\U00011D3D\U00011D3F-\U00011D45\U00011D47"
    r"\U00011D8A-\U00011D8E\U00011D90-\U00011D91\U00011D93-\U00011D97\U00011EF3-\U00011EF6"
    r"\U00016AF0-\U00016AF4\U00016B30-\U00016B36\U00016F4F\U00016F51-\U00016F87"
    r"\U00016F8F-\U00016F92\U00016FE4\U00016FF0-\U00016FF1\U0001BC9D-\U0001BC9E"
    r"\U0001CF00-\U0001CF2D\U0001CF30-\U0001CF46\U0001D165-\U0001D169\U0001D16D-\U0001D172"
    r"\U0001D17B-\U0001D182\U0001D185-\U0001D18B\U0001D1AA-\U0001D1AD\U0001D242-\U0001D244"
    r"\U0001DA00-\U0001DA36\U0001DA3B-\U0001DA6C\U0001DA75\U0001DA84\U0001DA9B-\U0001DA9F"
    r"\U0001DAA1-\U0001DAAF\U0001E000-\U0001E006\U0001E008-\U0001E018\U0001E01B-\U0001E021"
    r"\U0001E023-\U0001E024\U0001E026-\U0001E02A\U0001E130-\U0001E136\U0001E2AE"
    r"\U0001E2EC-\U0001E2EF\U0001E8D0-\U0001E8D6\U0001E944-\U0001E94A\U000E0100-\U000E01EF"
)
_PUNCT = (
    r"\u0021-\u0023\u0025-\u002A\u002C-\u002F\u003A-\u003B\u003F-\u0040\u005B-\u005D\u005F"
    r"\u007B\u007D\u00A1\u00A7\u00AB\u00B6-\u00B7\u00BB\u00BF\u037E\u0387\u055A-\u055F"
    r"\u0589-\u058A\u05BE\u05C0\u05C3\u05C6\u05F3-\u05F4\u0609-\u060A\u060C-\u060D\u061B"
    r"\u061D-\u061F\u066A-\u066D\u06D4\u0700-\u070D\u07F7-\u07F9\u0830-\u083E\u085E"
    r"\u0964-\u0965\u0970\u09FD\u0A76\u0AF0\u0C77\u0C84\u0DF4\u0E4F\u0E5A-\u0E5B"
    r"\u0F04-\u0F12\u0F14\u0F3A-\u0F3D\u0F85\u0FD0-\u0FD4\u0FD9-\u0FDA\u104A-\u104F\u10FB"
    r"\u1360-\u1368\u1400\u166E\u169B-\u169C\u16EB-\u16ED\u1735-\u1736\u17D4-\u17D6"
    r"\u17D8-\u17DA\u1800-\u180A\u1944-\u1945\u1A1E-\u1A1F\u1AA0-\u1AA6\u1AA8-\u1AAD"
    r"\u1B5A-\u1B60\u1B7D-\u1B7E\u1BFC-\u1BFF\u1C3B-\u1C3F\u1C7E-\u1C7F\u1CC0-\u1CC7\u1CD3"
    r"\u2010-\u2027\u2030-\u2043\u2045-\u2051\u2053-\u205E\u207D-\u207E\u208D-\u208E"
    r"\u2308-\u230B\u2329-\u232A\u2768-\u2775\u27C5-\u27C6\u27E6-\u27EF\u2983-\u2998"
    r"\u29D8-\u29DB\u29FC-\u29FD\u2CF9-\u2CFC\u2CFE-\u2CFF\u2D70\u2E00-\u2E2E\u2E30-\u2E4F"
    r"\u2E52-\u2E5D\u3001-\u3003\u3008-\u3011\u3014-\u301F\u3030\u303D\u30A0\u30FB"
    r"\uA4FE-\uA4FF\uA60D-\uA60F\uA673\uA67E\uA6F2-\uA6F7\uA874-\uA877\uA8CE-\uA8CF"
    r"\uA8F8-\uA8FA\uA8FC\uA92E-\uA92F\uA95F\uA9C1-\uA9CD\uA9DE-\uA9DF\uAA5C-\uAA5F"
    r"\uAADE-\uAADF\uAAF0-\uAAF1\uABEB\uFD3E-\uFD3F\uFE10-\uFE19\uFE30-\uFE52\uFE54-\uFE61"
    r"\uFE63\uFE68\uFE6A-\uFE6B\uFF01-\uFF03\uFF05-\uFF0A\uFF0C-\uFF0F\uFF1A-\uFF1B"
    r"\uFF1F-\uFF20\uFF3B-\uFF3D\uFF3F\uFF5B\uFF5D\uFF5F-\uFF65\U00010100-\U00010102"
    r"\U0001039F\U000103D0\U0001056F\U00010857\U0001091F\U0001093F\U00010A50-\U00010A58"
    r"\U00010A7F\U00010AF0-\U00010AF6\U00010B39-\U00010B3F\U00010B99-\U00010B9C\U00010EAD"
    r"\U00010F55-\U00010F59\U00010F86-\U00010F89\U00011047-\U0001104D\U000110BB-\U000110BC"
    r"\U000110BE-\U000110C1\U00011140-\U00011143\U00011174-\U00011175\U000111C5-\U000111C8"
    r"\U000111CD\U000111DB\U000111DD-\U000111DF\U00011238-\U0001123D\U000112A9"
    r"\U0001144B-\U0001144F\U0001145A-\U0001145B\U0001145D\U000114C6\U000115C1-\U000115D7"
    r"\U00011641-\U00011643\U00011660-\U0001166C\U000116B9\U0001173C-\U0001173E\U0001183B"
    r"\U00011944-\U00011946\U000119E2\U00011A3F-\U00011A46\U00011A9A-\U00011A9C"
    r"\U00011A9E-\U00011AA2\U00011C41-\U00011C45\U00011C70-\U00011C71\U00011EF7-\U00011EF8"
    r"\U00011FFF\U00012470-\U00012474\U00012FF1-\U00012FF2\U00016A6E-\U00016A6F\U00016AF5"
    r"\U00016B37-\U00016B3B\U00016B44\U00016E97-\U00016E9A\U00016FE2\U0001BC9F"
    r"\U0001DA87-\U0001DA8B\U0001E95E-\U0001E95F"
)
_LETTERS = (
    r"\u0041-\u005A\u0061-\u007A\u00AA\u00B5\u00BA\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u02AF"
    r"\u0370-\u0374\u0376-\u0377\u037A-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1"
    r"\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u1C80-\u1C88\u1D00-\u1DBF\u1E00-\u1F15"
    r"\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D"
    r"\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB"
    r"\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2C60-\u2C7F\uA640-\uA66E\uA67F-\uA69D"
    r"\uA722-\uA788\uA78B-\uA7CA\uA7D0-\uA7D1\uA7D3\uA7D5-\uA7D9\uA7F2-\uA7FF\uAB30-\uAB5A"
    r"\uAB5C-\uAB69\uFB00-\uFB06\uFF21-\uFF3A\uFF41-\uFF5A"
)
# --- hand-written classes ------------------------------------------------------------------------

# CJK ideographs: 々 〇 ○, URO, extension A, compatibility ideographs, extensions B-I, G-H,
# compatibility supplement.
_HAN_BMP = r"\u3005\u3007\u25CB\u3400-\u4DBF\u4E00-\u9FFF\uF900-\uFAFF"
_HAN_ASTRAL = (
    r"\U00020000-\U0002A6DF\U0002A700-\U0002EE5F\U00030000-\U000323AF\U0002F800-\U0002FA1F"
)
_HAN = _HAN_BMP + _HAN_ASTRAL


def _split_astral(table: str) -> tuple[str, str]:
    """Split a generated class (only ``\\u``/``\\U`` escapes) into its BMP and astral parts."""
    bmp = "".join(re.findall(r"\\u[0-9A-F]{4}(?:-\\u[0-9A-F]{4})?", table))
    astral = "".join(re.findall(r"\\U[0-9A-F]{8}(?:-\\U[0-9A-F]{8})?", table))
    if len(bmp) + len(astral) != len(table):
        raise RuntimeError("a generated character table has an unexpected form")
    return bmp, astral


# Characters that attach to the one before them: combining marks (variation selectors included),
# ZWNJ, emoji skin-tone modifiers and tag characters (subdivision flags).
_MARKS_BMP, _MARKS_ASTRAL = _split_astral(_MARKS)
_EXT_BMP = _MARKS_BMP + r"\u200C"
_EXT_ASTRAL = _MARKS_ASTRAL + r"\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F"
_EXT = _EXT_BMP + _EXT_ASTRAL
# A character class with astral ranges is slow to *fail* on a BMP character (re tests the astral
# ranges one by one), so the hot han run tests the BMP class first and the astral one only
# behind this cheap guard.
_ASTRAL = r"(?=[\U00010000-\U0010FFFF])"
_ZWJ = "\u200d"
_DIGITS = r"0-9\uFF10-\uFF19"
# ASCII symbols that spaCy and ``string.punctuation`` treat as punctuation, and full-width forms.
_SYMBOL_PUNCT = r"\$\+<=>\^`\|~\uFF04\uFF0B\uFF1C-\uFF1E\uFF3E\uFF40\uFF5C\uFF5E"
# What may follow a ZWJ inside an emoji sequence (pictographs, dingbats, arrows, shapes).
_EMOJI = (
    r"\u00A9\u00AE\u203C\u2049\u2122\u2139\u2190-\u21FF\u2300-\u23FF\u24C2\u25A0-\u27BF"
    r"\u2900-\u297F\u2B00-\u2BFF\u3030\u303D\u3297\u3299\U0001F000-\U0001FAFF"
)
_REGIONAL = r"\U0001F1E6-\U0001F1FF"

_LDX = f"[{_LETTERS}{_DIGITS}{_EXT}{_ZWJ}]"
_LD = f"[{_LETTERS}{_DIGITS}]"

# The attached characters (is_attached) that may end any span but a space run: a span never
# ends right before one, so no token starts inside a grapheme ("‼\ufe0f", "C#\u0301",
# "好\u200d"). The BMP class first, the astral one behind the cheap guard (see _ASTRAL).
_TAIL = f"(?:[{_EXT_BMP}{_ZWJ}]|{_ASTRAL}[{_EXT_ASTRAL}])*"

_ALTERNATIVES = {
    # han: an ideograph, then ideographs and attached characters (see _ASTRAL)
    "han": (
        f"(?:[{_HAN_BMP}]|{_ASTRAL}[{_HAN_ASTRAL}])"
        f"(?:[{_HAN_BMP}{_EXT_BMP}{_ZWJ}]+|{_ASTRAL}[{_HAN_ASTRAL}{_EXT_ASTRAL}])*"
    ),
    # keycap emoji 1️⃣ #️⃣ (before punct and num, which would take the # or the digit)
    "keycap": f"[0-9#*]\\uFE0F?\\u20E3{_TAIL}",
    # one punctuation mark; a repeated mark (—— …… ... !!!) stays one span
    "punct": f"(?P<pc>[{_PUNCT}{_SYMBOL_PUNCT}])(?P=pc)*{_TAIL}",
    "space": r"\s+",
    # dotted abbreviation of single letters: U.S. e.g.
    "abbr": f"(?:[{_LETTERS}][{_EXT}{_ZWJ}]*\\.){{2,}}{_TAIL}(?!{_LD})",
    # latin word: optional digit prefix (5G), a letter, alphanumerics and inner joiners,
    # then C++ / C#
    "latin": (
        f"[{_DIGITS}]*[{_LETTERS}]{_LDX}*(?:[-._'\\u2019&/@]{_LD}{_LDX}*)*"
        f"(?:(?:\\+\\+|\\#)(?!{_LD}){_TAIL})?"
    ),
    # number: digits with inner . , : ． and an optional percent/permille sign
    "num": (
        f"[{_DIGITS}][{_DIGITS}{_EXT}{_ZWJ}]*"
        f"(?:[.,:\\uFF0E][{_DIGITS}][{_DIGITS}{_EXT}{_ZWJ}]*)*"
        f"(?:[%\\uFF05\\u2030]{_TAIL})?"
    ),
    # anything else, one grapheme-like unit: a flag (two regional indicators) or any single
    # character, its attached marks, then ZWJ-joined emoji (a dangling ZWJ stays attached,
    # with any marks after it)
    "other": f"(?:[{_REGIONAL}]{{2}}|.)[{_EXT}]*(?:{_ZWJ}[{_EXT}]*(?:[{_EMOJI}][{_EXT}]*)?)*",
}
_KIND_OF = {"keycap": "other", "abbr": "latin"}
# The alternatives start with disjoint characters except keycap/punct/num (#, *, digits) and
# abbr/latin, whose order is fixed above; han and punct come first because they are most common.


@cache
def _run_regex() -> tuple[re.Pattern[str], list[str | None]]:
    """The compiled run pattern and ``m.lastindex`` (outermost matched group) -> kind.

    Compiled on first use: the large character classes take ~50 ms to compile.
    """
    regex = re.compile(
        "|".join(f"(?P<{name}>{pattern})" for name, pattern in _ALTERNATIVES.items()), re.DOTALL
    )
    kinds: list[str | None] = [None] * (regex.groups + 1)
    for name, index in regex.groupindex.items():
        if name in _ALTERNATIVES:
            kinds[index] = _KIND_OF.get(name, name)
    return regex, kinds


@cache
def _attached_regex() -> re.Pattern[str]:
    return re.compile(f"[{_EXT}{_ZWJ}]")


def split_runs(text: str) -> list[tuple[int, int, str]]:
    """Partition ``text`` into consecutive ``(start, end, kind)`` spans.

    The spans cover the text exactly: the first starts at 0, each starts where the previous one
    ended, the last ends at ``len(text)``; an empty text gives ``[]``. ``kind`` is one of
    :data:`KINDS` (see the module docstring). Works for every ``str``, lone surrogates included
    (they become ``"other"`` units).
    """
    regex, kinds = _run_regex()
    return [(m.start(), m.end(), kinds[m.lastindex]) for m in regex.finditer(text)]


def is_attached(char: str) -> bool:
    """Whether ``char`` belongs to the character before it.

    True for combining marks (variation selectors included), ZWJ, ZWNJ, emoji modifiers and tag
    characters. A word or chunk boundary must not fall right before such a character.
    """
    return _attached_regex().fullmatch(char) is not None


def has_attached(text: str) -> bool:
    """Whether any character after the first of ``text`` attaches to the one before it."""
    return _attached_regex().search(text, 1) is not None


def attached_positions(text: str, start: int = 0, end: int | None = None) -> list[int]:
    """Positions ``p`` in ``(start, end)`` where ``text[p]`` attaches to ``text[p - 1]``.

    The segmenter forbids a word start (tags B and S) at these positions of a han run.
    """
    end = len(text) if end is None else end
    return [m.start() for m in _attached_regex().finditer(text, start + 1, end)]


# --- chunking ------------------------------------------------------------------------------------

DEFAULT_MAX_LEN = 256
# A chunk always ends after these (and after the closing quotes/brackets that follow them) ...
_SENTENCE_END = frozenset("。！？!?；;…｡")
_CLOSERS = frozenset("”’」』）)]】》〉〕｝}\"'")
# ... and after each line break.
_LINE_BREAKS = re.compile("[\n\u2028\u2029\x85]")


def _merge_spans(spans: Iterable[tuple[int, int]]) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    for s, e in sorted((int(s), int(e)) for s, e in spans):
        if e - s < 2:
            continue  # nothing can fall strictly inside
        if starts and s < ends[-1]:
            ends[-1] = max(ends[-1], e)
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def chunk_spans(
    text: str, max_len: int = DEFAULT_MAX_LEN, *, protect: Iterable[tuple[int, int]] = ()
) -> list[tuple[int, int]]:
    """Cut ``text`` into consecutive ``(start, end)`` chunks of at most ``max_len`` characters.

    Cuts, in order of preference:

    1. Always (whatever the length) after sentence-final punctuation ``。！？!?；;…`` together with
       the closing quotes/brackets after it, and after every line break. These *mandatory* cuts
       depend only on the characters around them.
    2. Inside a stretch between mandatory cuts that is longer than ``max_len``: greedily, the last
       position within ``max_len`` that follows punctuation or whitespace; else the last boundary
       between two :func:`split_runs` spans (e.g. han | latin).
    3. Else a hard cut inside the run, balanced so that a run of ``n`` characters becomes
       ``ceil(n / max_len)`` near-equal pieces.

    No cut of any kind falls right before an attached character (combining mark, ZWJ, ...; see
    :func:`is_attached`) unless a run of them is longer than ``max_len``.

    No cut falls strictly inside a span of ``protect`` (e.g. user-dictionary matches found on the
    whole text): such candidates are skipped, mandatory ones included, and a hard cut moves left
    out of a protected span, unless the span itself is longer than ``max_len``.

    Independence from where the text was cut: the chunks between two mandatory cuts are a
    function of that stretch alone. So if a user splits a text at a mandatory cut (after ``。``,
    after a line break) and chunks the parts, the chunks are the same as for the whole text,
    shifted, as long as the second part does not begin with characters that would have extended
    the cut (closing quotes, more sentence punctuation, a combining mark).

    The result covers the text exactly; ``""`` gives ``[]``.
    """
    if max_len < 1:
        raise ValueError(f"max_len must be at least 1, got {max_len}")
    n = len(text)
    if n == 0:
        return []
    runs = split_runs(text)
    p_starts, p_ends = _merge_spans(protect)

    attached = set(attached_positions(text))

    def blocked(c: int) -> bool:
        """No cut before an attached character or strictly inside a protected span."""
        if c in attached:
            return True
        i = bisect_right(p_starts, c) - 1
        return i >= 0 and p_starts[i] < c < p_ends[i]

    mandatory: list[int] = []
    after_punct: list[int] = []  # preference 2a
    boundaries: list[int] = []  # preference 2b
    pending = False
    for s, e, kind in runs:
        if s:
            boundaries.append(s)
        if pending:
            if kind == "punct" and (text[s] in _CLOSERS or text[s] in _SENTENCE_END):
                pass
            else:
                mandatory.append(s)
                pending = False
        if kind == "punct":
            after_punct.append(e)
            if text[s] in _SENTENCE_END:
                pending = True
        elif kind == "space":
            after_punct.append(e)
            mandatory.extend(m.end() for m in _LINE_BREAKS.finditer(text, s, e))
    bounds = [0, *sorted({c for c in mandatory if 0 < c < n and not blocked(c)}), n]

    def last_in(cands: list[int], lo: int, hi: int) -> int | None:
        i = bisect_right(cands, hi) - 1
        while i >= 0 and cands[i] > lo:
            if cands[i] < n and not blocked(cands[i]):
                return cands[i]
            i -= 1
        return None

    def first_after(cands: list[int], lo: int, hi: int) -> int:
        i = bisect_right(cands, lo)
        while i < len(cands) and cands[i] < hi:
            if not blocked(cands[i]):
                return cands[i]
            i += 1
        return hi

    chunks: list[tuple[int, int]] = []
    for s, e in pairwise(bounds):
        pos = s
        while e - pos > max_len:
            lim = pos + max_len
            cut = last_in(after_punct, pos, lim)
            if cut is None:
                cut = last_in(boundaries, pos, lim)
            if cut is None:
                stretch = first_after(boundaries, lim, e) - pos
                pieces = -(-stretch // max_len)
                ideal = pos + -(-stretch // pieces)
                # nearest allowed position, left of the ideal one first, then right of it
                cut = next(
                    (
                        c
                        for c in [*range(ideal, pos, -1), *range(ideal + 1, lim + 1)]
                        if not blocked(c)
                    ),
                    ideal,
                )
            chunks.append((pos, cut))
            pos = cut
        chunks.append((pos, e))
    return chunks
