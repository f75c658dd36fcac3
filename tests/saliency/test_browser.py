"""The HTML page of ``render_saliency`` in a real headless Chromium: hostile text stays text,
and the page shows the orange and blue shades.

Skipped when ``chromium`` is not on PATH, unless ``KEXUE_REQUIRE_CHROMIUM=1`` (then it fails).
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from spacy_kexue.saliency import render_saliency
from spacy_kexue.saliency.render import MAX_ALPHA, NEGATIVE_RGB, POSITIVE_RGB
from tests.conftest import CHROMIUM_PACKAGE, skip_missing_system
from tests.saliency.conftest import blank_zh, words_doc

PAYLOAD = "<script>document.body.appendChild(document.createElement('x-pwned'))</script>"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("KEXUE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("KEXUE_REQUIRE_CHROMIUM=1 but chromium is not on PATH")
        skip_missing_system(
            CHROMIUM_PACKAGE, "chromium is not on PATH (KEXUE_REQUIRE_CHROMIUM=1 requires it)"
        )
    return path


def run_chromium(chromium: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    # stderr carries dbus errors in containers: ignored unless the run fails
    proc = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def hostile_page(tmp_path: Path) -> Path:
    doc = words_doc(blank_zh(), [PAYLOAD, "很", "好"])
    # 很 strongly positive, 好 strongly negative; the payload's 1.0 sets the scale, so their
    # shade (alpha 0.9 * MAX_ALPHA) differs from the legend's (MAX_ALPHA)
    doc._.saliency = [1.0, 0.9, -0.9]
    doc.cats = {"POSITIVE": 0.7, "NEGATIVE": 0.3}
    page = tmp_path / "saliency.html"
    page.write_text(render_saliency(doc), encoding="utf-8")
    return page


def test_dom_keeps_the_payload_as_text(chromium, tmp_path):
    page = hostile_page(tmp_path)
    dom = run_chromium(chromium, tmp_path, "--dump-dom", page.as_uri()).stdout
    assert "</html>" in dom  # the page loaded
    assert "<x-pwned" not in dom
    assert "<script" not in dom
    assert "&lt;script&gt;document.body.appendChild(" in dom
    assert "很" in dom and "好" in dom


def read_png(path: Path) -> np.ndarray:
    """(height, width, 3) uint8 pixels of a PNG: with Pillow if installed, else decoded here
    (8-bit RGB/RGBA, not interlaced: what Chromium writes)."""
    try:
        from PIL import Image
    except ImportError:
        return _decode_png(path.read_bytes())
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        pytest.skip(f"PNG layout {header} needs Pillow to decode")
    channels = 3 if colour == 2 else 4
    raw = np.frombuffer(zlib.decompress(b"".join(chunks)), dtype=np.uint8)
    rows = raw.reshape(height, 1 + width * channels)
    out = np.zeros((height, width * channels), dtype=np.int32)
    prev = np.zeros(width * channels, dtype=np.int32)
    for y in range(height):
        kind, line = rows[y, 0], rows[y, 1:].astype(np.int32)
        cur = np.zeros_like(line)
        for x in range(len(line)):
            a = cur[x - channels] if x >= channels else 0
            b = prev[x]
            c = prev[x - channels] if x >= channels else 0
            if kind == 0:
                pred = 0
            elif kind == 1:
                pred = a
            elif kind == 2:
                pred = b
            elif kind == 3:
                pred = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[x] = (line[x] + pred) & 0xFF
        out[y], prev = cur, cur
    return out.reshape(height, width, channels)[:, :, :3].astype(np.uint8)


def blended(rgb: tuple[int, int, int], alpha: float) -> np.ndarray:
    """``rgb`` at ``alpha`` over the white page."""
    return alpha * np.asarray(rgb, dtype=float) + (1 - alpha) * 255.0


def pixels_near(image: np.ndarray, colour: np.ndarray, tolerance: float = 6.0) -> int:
    return int((np.abs(image.astype(float) - colour).max(axis=2) <= tolerance).sum())


def test_screenshot_shows_both_shades(chromium, tmp_path):
    page = hostile_page(tmp_path)
    png = tmp_path / "shot.png"
    run_chromium(chromium, tmp_path, f"--screenshot={png}", "--window-size=900,400", page.as_uri())
    image = read_png(png)
    assert image.shape[:2] == (400, 900)
    white = (image == 255).all(axis=2).mean()
    assert white > 0.5, f"only {white:.0%} of the page is white: did it render?"
    alpha = 0.9 * MAX_ALPHA
    assert pixels_near(image, blended(POSITIVE_RGB, alpha)) >= 50
    assert pixels_near(image, blended(NEGATIVE_RGB, alpha)) >= 50
    # the payload token and the legend at full MAX_ALPHA
    assert pixels_near(image, blended(POSITIVE_RGB, MAX_ALPHA)) >= 50
