"""Grey and ink: an image array to float grey, a binary ink mask, salt noise removed.

The first steps of the projection layout (:mod:`spacy_kexue.ocr.layout`), pure numpy:

- :func:`to_grey` - an image array to float grey in [0, 1] (with ``method="contrast"``, the
  colour channel with the most contrast, so red on green stays readable);
- :func:`binarize` - Otsu threshold; polarity from the image border (dark text on a light
  background or light text on a dark/coloured one); a local-mean threshold when the global one
  cannot separate the classes (strong shading);
- :func:`despeckle` - isolated ink pixels and pairs (salt noise) are removed.
"""

from __future__ import annotations

import numpy as np

from .boxes import LayoutError

__all__ = ["BINARIZE_METHODS", "GREY_METHODS", "binarize", "despeckle", "to_grey"]


_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
#: The ``method`` values of :func:`to_grey`.
GREY_METHODS = ("luma", "contrast")
#: The ``method`` values of :func:`binarize`.
BINARIZE_METHODS = ("auto", "otsu", "local")


def to_grey(image: np.ndarray, *, method: str = "luma") -> np.ndarray:
    """Convert an image array to float32 grey values in ``[0, 1]``.

    ``image`` is H x W (grey), H x W x 1, H x W x 3 (RGB) or H x W x 4 (RGBA, composited
    over white). Integer arrays are scaled by their dtype's maximum (uint8: 255); float
    arrays are taken to be in ``[0, 1]``, or in ``[0, 255]`` when their maximum is above 1.

    ``method="luma"`` uses ITU-R 601 luma weights. ``method="contrast"`` returns, among
    luma and the three colour channels, the one whose Otsu split has the largest
    between-class variance (the two classes furthest apart): text stays readable on a
    coloured background of the same brightness (red on green), where luma has almost no
    contrast.
    """
    if method not in GREY_METHODS:
        raise LayoutError(f"to_grey: method must be one of {GREY_METHODS}, got {method!r}.")
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
        raise LayoutError(
            f"to_grey expects an H x W, H x W x 3 or H x W x 4 image array, got shape "
            f"{arr.shape}. Load the file first (spacy_kexue.ocr.imageio.load_image)."
        )
    if arr.dtype == np.bool_:
        img = arr.astype(np.float32)
    elif np.issubdtype(arr.dtype, np.integer):
        img = arr.astype(np.float32) / float(np.iinfo(arr.dtype).max)
    elif np.issubdtype(arr.dtype, np.floating):
        img = arr.astype(np.float32)
        if img.size and float(np.nanmax(img)) > 1.0:
            img = img / 255.0
        img = np.clip(np.nan_to_num(img, nan=1.0), 0.0, 1.0)
    else:
        raise LayoutError(f"to_grey expects a numeric image array, got dtype {arr.dtype}.")
    if img.ndim == 2:
        return img
    if img.shape[2] == 1:
        return img[:, :, 0]
    if img.shape[2] == 4:
        alpha = img[:, :, 3:4]
        img = img[:, :, :3] * alpha + (1.0 - alpha)
    luma = (img @ _LUMA).astype(np.float32)
    if method == "luma":
        return luma
    candidates = [luma, img[:, :, 0], img[:, :, 1], img[:, :, 2]]
    scores = [_otsu(c)[2] for c in candidates]
    return np.ascontiguousarray(candidates[int(np.argmax(scores))], dtype=np.float32)


def _otsu(grey: np.ndarray, bins: int = 256) -> tuple[float, float, float]:
    """Otsu's threshold of ``grey`` (values in [0, 1]), its separability and contrast.

    Separability is the between-class variance over the total variance (0..1): close to
    1 for two clean grey levels, low for noise or shading. Contrast is the between-class
    variance itself (how far apart the two classes are, weighted by their sizes).
    """
    if grey.size == 0:
        return 0.5, 0.0, 0.0
    hist, edges = np.histogram(grey, bins=bins, range=(0.0, 1.0))
    p = hist.astype(np.float64) / grey.size
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(p)
    mu = np.cumsum(p * centres)
    mu_t = mu[-1]
    total_var = float(np.sum(p * (centres - mu_t) ** 2))
    if total_var <= 0:
        return 0.5, 0.0, 0.0
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu_t * w0 - mu) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = 0.0
    k = int(np.argmax(between))
    return float(edges[k + 1]), float(between[k] / total_var), float(between[k])


def _border(grey: np.ndarray) -> np.ndarray:
    """The pixels of the image's outer frame (about 2% of the shorter side, >= 1 px)."""
    h, w = grey.shape
    b = max(1, min(h, w) // 50)
    return np.concatenate(
        [grey[:b].ravel(), grey[-b:].ravel(), grey[:, :b].ravel(), grey[:, -b:].ravel()]
    )


def _box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1) x (2r+1) window clipped at the edges (separable running sums)."""

    def running(v: np.ndarray, axis: int) -> np.ndarray:
        n = v.shape[axis]
        c = np.cumsum(v, axis=axis, dtype=np.float64)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        idx = np.arange(n)
        hi = np.minimum(idx + radius + 1, n)
        lo = np.maximum(idx - radius, 0)
        total = np.take(c, hi, axis=axis) - np.take(c, lo, axis=axis)
        shape = [1, 1]
        shape[axis] = n
        return total / (hi - lo).reshape(shape)

    return running(running(values, 0), 1)


def binarize(
    grey: np.ndarray,
    *,
    method: str = "auto",
    min_contrast: float = 0.15,
    min_separability: float = 0.75,
    window: int | None = None,
    local_margin: float = 0.15,
) -> np.ndarray:
    """Ink mask of a grey image (values in [0, 1]): a bool array, True where there is ink.

    Threshold: ``method="otsu"`` uses Otsu's global threshold; ``method="local"``
    compares each pixel with the mean of its ``window`` x ``window`` neighbourhood
    (default: an eighth of the shorter side, at least 15 px) and calls it ink when it is
    ``local_margin`` x the image's grey range darker (lighter, for light ink);
    ``method="auto"`` (default) uses Otsu unless its separability (between-class over
    total variance) is below ``min_separability``, which measured 0.87-0.95 on clean,
    noisy, blurred and coloured synthetic lines but 0.59-0.74 under background shading
    strong enough to defeat a global threshold, and then the local rule.

    Polarity: the image border is background. If most border pixels fall on the dark
    side of the threshold, ink is the light class (white text on a dark or coloured
    background), otherwise the dark class. When the border is split almost evenly
    (35-65% dark, e.g. a tight crop), ink is the minority class of the whole image.

    An image whose grey range (1st to 99th percentile, or min to max when that is
    wider) is below ``min_contrast`` has no ink: a blank page gives an all-False mask
    rather than thresholded noise. So does an image with fewer than 2 rows or columns.
    """
    if method not in BINARIZE_METHODS:
        raise LayoutError(f"binarize: method must be one of {BINARIZE_METHODS}, got {method!r}.")
    g = np.asarray(grey, dtype=np.float32)
    if g.ndim != 2:
        raise LayoutError(
            f"binarize expects a 2-D grey image, got shape {g.shape}; call to_grey first."
        )
    empty = np.zeros(g.shape, dtype=bool)
    if min(g.shape) < 2:
        return empty
    lo, hi = (float(v) for v in np.percentile(g, [1, 99]))
    if hi - lo < min_contrast:
        # percentiles ignore a few extreme pixels; a small mark on a blank page is ink
        lo, hi = float(g.min()), float(g.max())
        if hi - lo < min_contrast:
            return empty
    threshold, separability, _ = _otsu(g)
    dark_border = float(np.mean(_border(g) < threshold))
    if 0.35 <= dark_border <= 0.65:
        light_ink = float(np.mean(g >= threshold)) < 0.5
    else:
        light_ink = dark_border > 0.5
    if method == "otsu" or (method == "auto" and separability >= min_separability):
        return g > threshold if light_ink else g < threshold
    radius = max(7, (window or min(g.shape) // 8) // 2)
    mean = _box_mean(g, radius)
    margin = local_margin * (hi - lo)
    return g > mean + margin if light_ink else g < mean - margin


def despeckle(ink: np.ndarray) -> np.ndarray:
    """Remove isolated ink pixels and isolated pairs (salt noise); returns a new mask.

    A pixel is removed when none of its 8 neighbours is ink, or when it and its only
    ink neighbour have no other neighbours. Strokes of printed text at 16 px and above
    are larger than that, so only noise goes.
    """
    a = np.asarray(ink, dtype=bool)
    if a.ndim != 2 or a.size == 0:
        return a.copy()
    n = _neighbour_count(a)
    single = a & (n == 1)
    pair = single & (_neighbour_count(single) == 1)
    return a & (n > 0) & ~pair


def _neighbour_count(a: np.ndarray) -> np.ndarray:
    p = np.pad(a, 1).astype(np.uint8)
    h, w = a.shape
    total = np.zeros((h, w), dtype=np.uint8)
    for dy in (0, 1, 2):
        for dx in (0, 1, 2):
            if dy == 1 and dx == 1:
                continue
            total += p[dy : dy + h, dx : dx + w]
    return total
