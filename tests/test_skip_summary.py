"""A run that skips tests for a missing system package or data folder says so at the end."""

from __future__ import annotations

from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")


def test_the_run_names_what_is_missing_and_the_skipped_count(pytester, monkeypatch):
    monkeypatch.setenv("KEXUE_DATA", str(pytester.path / "no-data-here"))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_needs="""
        from conftest import CHROMIUM_PACKAGE, skip_missing_fonts, skip_missing_system

        def test_font_1(): skip_missing_fonts()
        def test_font_2(): skip_missing_fonts("font file x.ttc not installed")
        def test_browser(): skip_missing_system(CHROMIUM_PACKAGE, "no chromium")
        def test_data(data_dir): pass
        def test_runs(): pass
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rootdir", str(pytester.path)
    )
    result.assert_outcomes(passed=1, skipped=4)
    result.stdout.fnmatch_lines(
        [
            "*4 tests skipped for something this machine lacks*",
            "1 tests skipped: missing Debian packages chromium",
            "2 tests skipped: missing Debian packages fonts-noto-cjk fonts-wqy-zenhei "
            "fonts-wqy-microhei fonts-arphic-uming",
            "1 tests skipped: no data folder at * (set KEXUE_DATA *",
            "Install them with: sudo apt-get install chromium fonts-arphic-uming fonts-noto-cjk "
            "fonts-wqy-microhei fonts-wqy-zenhei",
        ]
    )


def test_nothing_is_said_when_nothing_is_missing(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_fine="def test_ok(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "skipped for something" not in result.stdout.str()
