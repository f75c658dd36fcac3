import os
from pathlib import Path

import pytest

from spacy_kexue.errors import KexueError
from spacy_kexue.ocr.fonts import (
    ALLOWED_FAMILIES,
    RESERVED_FAMILIES,
    RESERVED_FILES,
    FontError,
    FontSpec,
    ReservedFontError,
    check_allowed,
    coverage,
    find_fonts,
    is_reserved,
)


def build_font(family: str, style: str = "Regular", chars: str = "A"):
    """A tiny TrueType font (a box glyph per character) named ``family``/``style``."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    fb = FontBuilder(1000, isTTF=True)
    names = [".notdef"] + [f"uni{ord(c):04X}" for c in chars]
    fb.setupGlyphOrder(names)
    fb.setupCharacterMap({ord(c): f"uni{ord(c):04X}" for c in chars})
    pen = TTGlyphPen(None)
    pen.moveTo((100, 0))
    pen.lineTo((100, 700))
    pen.lineTo((500, 700))
    pen.lineTo((500, 0))
    pen.closePath()
    box = pen.glyph()
    fb.setupGlyf({n: box if n != ".notdef" else TTGlyphPen(None).glyph() for n in names})
    fb.setupHorizontalMetrics({n: (600, 100) for n in names})
    fb.setupHorizontalHeader(ascent=880, descent=-120)
    fb.setupNameTable({"familyName": family, "styleName": style})
    fb.setupOS2(sTypoAscender=880, sTypoDescender=-120, usWinAscent=880, usWinDescent=120)
    fb.setupPost()
    return fb.font


def save_font(path: Path, family: str, style: str = "Regular", chars: str = "A") -> str:
    build_font(family, style, chars).save(str(path))
    return str(path)


def save_collection(path: Path, families: list[str], style: str = "Regular") -> str:
    from fontTools.ttLib import TTCollection

    collection = TTCollection()
    collection.fonts = [build_font(family, style) for family in families]
    collection.save(str(path))
    return str(path)


# --- the guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        *RESERVED_FILES,
        "/usr/share/fonts/truetype/arphic/ukai.ttc",
        "/opt/fonts/GKAI00MP.TTF",
        "gbsn00lp.ttf.gz",
        Path("/somewhere/ukai.ttc"),
    ],
)
def test_reserved_file_names_are_refused(path):
    with pytest.raises(ReservedFontError, match="reserved for evaluation") as info:
        check_allowed(path)
    assert isinstance(info.value, KexueError)
    assert os.path.basename(os.fspath(path)).lower().split(".")[0] in str(info.value).lower()
    # a spec claiming an allowed family does not get past the file-name check
    with pytest.raises(ReservedFontError, match="file name"):
        check_allowed(FontSpec(path=os.fspath(path), index=0, family="Noto Sans CJK SC"))


@pytest.mark.parametrize(
    "family",
    [
        *RESERVED_FAMILIES,
        "AR PL UKai CN",
        "AR PL UKai TW MBE",
        "ar pl ukai hk",
        "AR-PL-KaitiM-GB",
        "UKaiCN",
        "文鼎ＰＬ简中楷",
        "文鼎ＰＬ简报宋",
    ],
)
def test_reserved_family_names_are_refused(family):
    spec = FontSpec(path="/fonts/innocent.ttf", index=0, family=family)
    with pytest.raises(ReservedFontError, match="family"):
        check_allowed(spec)
    assert is_reserved(spec) is not None


@pytest.mark.parametrize(
    "spec",
    [
        FontSpec("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC"),
        FontSpec("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "AR PL UMing"),
        FontSpec("/x/wqy-zenhei.ttc", 0, "WenQuanYi Zen Hei"),
        FontSpec("/x/kai.ttf", 0, "AR PL KaitiM Big5"),  # not one of the reserved three
    ],
)
def test_allowed_fonts_pass_the_guard(spec):
    assert is_reserved(spec) is None
    assert check_allowed(spec) is None


def test_reserved_font_is_refused_by_its_own_name_table(tmp_path):
    path = save_font(tmp_path / "innocent.ttf", "AR PL SungtiL GB")
    with pytest.raises(ReservedFontError, match="name table"):
        check_allowed(path)
    # a spec that lies about the family is caught by the file's names
    with pytest.raises(ReservedFontError, match="AR PL SungtiL GB"):
        check_allowed(FontSpec(path=path, index=0, family="WenQuanYi Micro Hei"))
    allowed = save_font(tmp_path / "other.ttf", "WenQuanYi Micro Hei")
    check_allowed(allowed)


def test_reserved_font_is_refused_through_a_symlink(tmp_path):
    real = save_font(tmp_path / "ukai.ttc", "Some Family")
    link = tmp_path / "harmless.ttf"
    link.symlink_to(real)
    with pytest.raises(ReservedFontError, match="ukai.ttc"):
        check_allowed(link)


# --- discovery ---------------------------------------------------------------------------------


def test_find_fonts_refuses_reserved_families():
    with pytest.raises(ReservedFontError, match="AR PL UKai"):
        find_fonts(["Noto Sans CJK SC", "AR PL UKai"], dirs=[])


def test_find_fonts_picks_the_simplified_chinese_faces(tmp_path):
    save_collection(
        tmp_path / "NotoSansCJK-Regular.ttc",
        ["Noto Sans CJK JP", "Noto Sans CJK KR", "Noto Sans CJK SC", "Noto Sans Mono CJK SC"],
    )
    save_collection(
        tmp_path / "NotoSansCJK-Bold.ttc", ["Noto Sans CJK JP", "Noto Sans CJK SC"], "Bold"
    )
    save_collection(
        tmp_path / "uming.ttc", ["AR PL UMing CN", "AR PL UMing HK", "AR PL UMing TW"], "Light"
    )
    sub = tmp_path / "wqy"
    sub.mkdir()
    save_collection(sub / "wqy-zenhei.ttc", ["WenQuanYi Zen Hei", "WenQuanYi Zen Hei Mono"])
    save_font(tmp_path / "DejaVuSans.ttf", "DejaVu Sans")
    save_font(tmp_path / "ukai-copy.ttf", "AR PL UKai CN")  # reserved family: never returned
    (tmp_path / "broken.ttf").write_bytes(b"not a font")

    specs = find_fonts(dirs=[tmp_path])
    got = [(Path(s.path).name, s.index, s.family, s.style) for s in specs]
    assert got == [
        ("NotoSansCJK-Regular.ttc", 2, "Noto Sans CJK SC", "Regular"),
        ("NotoSansCJK-Bold.ttc", 1, "Noto Sans CJK SC", "Bold"),
        ("wqy-zenhei.ttc", 0, "WenQuanYi Zen Hei", "Regular"),
        ("uming.ttc", 0, "AR PL UMing", "Light"),
    ]
    # order follows the families asked for
    specs = find_fonts(["AR PL UMing", "WenQuanYi Zen Hei", "Noto Serif CJK SC"], dirs=[tmp_path])
    assert [s.family for s in specs] == ["AR PL UMing", "WenQuanYi Zen Hei"]
    # evaluation code can find reserved fonts on purpose
    specs = find_fonts(["AR PL UKai"], dirs=[tmp_path], allow_reserved=True)
    assert [(Path(s.path).name, s.family) for s in specs] == [("ukai-copy.ttf", "AR PL UKai")]


def test_find_fonts_skips_reserved_files_with_allowed_names(tmp_path):
    save_font(tmp_path / "gkai00mp.ttf", "WenQuanYi Micro Hei")
    with pytest.warns(UserWarning, match="reserved for evaluation"):
        assert find_fonts(dirs=[tmp_path]) == []


def test_find_fonts_deduplicates_and_tolerates_missing_dirs(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    save_font(first / "wqy-microhei.ttf", "WenQuanYi Micro Hei")
    save_font(second / "wqy-microhei.ttf", "WenQuanYi Micro Hei")
    specs = find_fonts(dirs=[tmp_path / "missing", second, first])
    assert len(specs) == 1 and Path(specs[0].path).parent == second
    assert find_fonts(dirs=[tmp_path / "missing"]) == []


def test_coverage_reads_the_cmap(tmp_path):
    spec = FontSpec(save_font(tmp_path / "f.ttf", "WenQuanYi Micro Hei", chars="A的"), 0, "X")
    assert coverage(spec, "AB的了") == {"A", "的"}
    assert coverage(spec, []) == set()
    with pytest.raises(FontError, match="not found"):
        coverage(FontSpec(str(tmp_path / "missing.ttf")), "A")
    (tmp_path / "junk.ttf").write_bytes(b"junk" * 10)
    with pytest.raises(FontError, match="junk.ttf"):
        coverage(FontSpec(str(tmp_path / "junk.ttf")), "A")


def test_fontspec_round_trips_through_a_dict():
    spec = FontSpec("/x/uming.ttc", 0, "AR PL UMing", "Light")
    assert FontSpec(**spec.to_dict()) == spec
    assert spec.name == "AR PL UMing Light"


# --- the fonts installed here ------------------------------------------------------------------


@pytest.fixture(scope="module")
def installed(fonts):
    return fonts


def test_installed_fonts_are_allowed_sc_faces(installed):
    from fontTools.ttLib import TTFont

    for spec in installed:
        assert spec.family in ALLOWED_FAMILIES
        assert is_reserved(spec) is None
        assert os.path.exists(spec.path)
        name = TTFont(spec.path, fontNumber=spec.index, lazy=True)["name"].getDebugName(1)
        assert name in (spec.family, spec.family + " CN", spec.family + " SC"), (spec, name)
    assert len({(s.family, s.style) for s in installed}) == len(installed)


def test_installed_fonts_cover_hanzi_and_latin(installed):
    for spec in installed:
        assert coverage(spec, "的A，,") == {"的", "A", "，", ","}, spec
