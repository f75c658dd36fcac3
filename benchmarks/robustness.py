"""Odd and hostile text through zh_kexue_sm and the peers' segmenters: who keeps the text?

    python benchmarks/robustness.py --n 1000 --json benchmarks/results/robustness.json

The texts: ``--n`` strings drawn with a fixed seed from pools of Han (BMP and supplementary),
ASCII, full-width forms, every kind of whitespace, NUL and other controls, combining marks
stacked on bases, Arabic and Hebrew with bidi controls, emoji sequences (ZWJ families, skin
tones, flags, keycaps, variation selectors), private use and noncharacters; plus ``--n-surrogate``
of them with a lone surrogate inserted (as ``json.loads('"\\ud800"')`` makes), and one 1 MB
text (333,333 Chinese characters and punctuation: 1 MB of UTF-8).

For each system and text: did it raise, and do its tokens put together give the text back
(``doc.text == text`` for spaCy pipelines; ``"".join(words) == text`` for jieba and THULAC)?
For the surrogate texts, which exception (the documented answer is ours, ``LoneSurrogateError``,
a ``ValueError`` naming the position). For the 1 MB text, whether it went through and the wall
time. Systems: ``zh_kexue_sm`` (tokenizer only, and the whole pipeline), spaCy's stock zh
tokenizer (``spacy.blank("zh")``: characters) and its jieba segmenter, ``jieba.lcut`` and
THULAC (``seg_only``). pkuseg is left out: its models download from the internet.
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _chars(first: int, last: int) -> list[str]:
    return [chr(c) for c in range(first, last + 1)]


POOLS: dict[str, list[str]] = {
    "han": _chars(0x4E00, 0x9FFF),
    "han_supplementary": _chars(0x20000, 0x2A6DF),
    "words": ["中国", "人民", "酒店", "服务", "很好", "不错", "手机", "电池"],
    "ascii": _chars(0x20, 0x7E),
    "full_width": _chars(0xFF01, 0xFF5E) + ["\u3000"],
    "whitespace": list("\t\n\r\x0b\x0c\x85\u2028\u2029\u00a0\u200b\u3000 "),
    "controls": _chars(0x00, 0x1F) + _chars(0x7F, 0x9F),
    "combining": _chars(0x0300, 0x036F) + ["\u20e3", "\ufe0f", "\ufe0e", "\u200d", "\u200c"],
    "rtl": _chars(0x0621, 0x064A) + _chars(0x05D0, 0x05EA) + list("\u200e\u200f\u202a\u202b"
                                                                  "\u202c\u202d\u202e\u2066"
                                                                  "\u2067\u2068\u2069"),
    "emoji": ["😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🇨🇳", "1\ufe0f\u20e3", "❤\ufe0f", "🏳\ufe0f\u200d🌈"],
    "other": ["\ue000", "\U000f0000", "\ufffe", "\uffff", "\U0010ffff", "\ufeff", "\ufffd"],
    "punct": list("。，、！？；：“”‘’（）《》…—·.,!?;:\"'()"),
}  # fmt: skip


def hostile_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    names = sorted(POOLS)
    texts = []
    for _ in range(n):
        pieces = []
        for _ in range(rng.randint(1, 12)):
            pool = POOLS[rng.choice(names)]
            pieces.append("".join(rng.choice(pool) for _ in range(rng.randint(1, 6))))
        texts.append("".join(pieces))
    return texts


def with_surrogates(texts: list[str], seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    out = []
    for text in texts:
        at = rng.randint(0, len(text))
        out.append(text[:at] + chr(rng.randint(0xD800, 0xDFFF)) + text[at:])
    return out


def megabyte_text() -> str:
    base = "这家酒店的服务很好，房间干净整洁。不过早餐一般，价格有点贵！我们下次还会再来吗？"
    n = 1_000_000 // 3
    return (base * (n // len(base) + 1))[:n]


def systems() -> dict:
    """name -> function(text) returning the text put back together from its tokens."""
    import jieba
    import spacy
    import thulac

    jieba.setLogLevel(60)
    ours = spacy.load("zh_kexue_sm")
    stock_char = spacy.blank("zh")
    stock_jieba = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    thu = thulac.thulac(seg_only=True)
    return {
        "zh_kexue_sm (tokenizer)": lambda t: ours.make_doc(t).text,
        "zh_kexue_sm (whole pipeline)": lambda t: ours(t).text,
        "spaCy zh (char)": lambda t: stock_char(t).text,
        "spaCy zh (jieba)": lambda t: stock_jieba(t).text,
        "jieba.lcut": lambda t: "".join(jieba.lcut(t)),
        "THULAC": lambda t: "".join(word for word, _ in thu.cut(t)),
    }


def measure(fn, texts: list[str]) -> dict:
    kept = changed = 0
    errors: Counter = Counter()
    for text in texts:
        try:
            out = fn(text)
        except Exception as err:  # every kind of failure is counted
            errors[f"{type(err).__module__}.{type(err).__name__}"] += 1
            continue
        if out == text:
            kept += 1
        else:
            changed += 1
    return {"kept": kept, "changed": changed, "raised": dict(errors)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="hostile texts")
    parser.add_argument("--n-surrogate", type=int, default=100, help="texts with a lone surrogate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    texts = hostile_texts(args.n, args.seed)
    surrogates = with_surrogates(texts[: args.n_surrogate], args.seed)
    big = megabyte_text()
    rows = []
    for name, fn in systems().items():
        row = {"system": name, "hostile": measure(fn, texts), "surrogate": measure(fn, surrogates)}
        start = time.perf_counter()
        big_result = measure(fn, [big])
        row["megabyte"] = dict(big_result, seconds=round(time.perf_counter() - start, 2))
        rows.append(row)
        h, s, m = row["hostile"], row["surrogate"], row["megabyte"]
        print(
            f"{name:<30} hostile: kept {h['kept']}/{len(texts)}, changed {h['changed']}, "
            f"raised {sum(h['raised'].values())} {h['raised'] or ''} | surrogate: raised "
            f"{s['raised'] or 'nothing'}, kept {s['kept']}, changed {s['changed']} | 1 MB: "
            f"{'kept' if m['kept'] else 'changed' if m['changed'] else m['raised']} "
            f"in {m['seconds']} s"
        )
    ours = rows[0]["hostile"]["kept"] / len(texts)
    best_peer = max(rows[2:], key=lambda r: r["hostile"]["kept"])
    peer = best_peer["hostile"]["kept"] / len(texts)
    print(
        f"texts kept: zh_kexue_sm {ours:.1%}, best peer ({best_peer['system']}) {peer:.1%}, "
        f"ratio {ours / peer if peer else float('inf'):.3f}"
    )
    if args.json:
        from spacy_kexue.about import __version__

        report = {
            "command": shlex.join(["python", *sys.argv]),
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "spacy_kexue": __version__,
            "n": args.n,
            "n_surrogate": args.n_surrogate,
            "seed": args.seed,
            "megabyte_chars": len(big),
            "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", "utf-8")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
