"""Reading corpora record by record (spacy_kexue.corpus.sources)."""

import gzip

import pytest

from spacy_kexue.corpus.sources import Record, Reject, iter_items
from spacy_kexue.errors import DataFileError


def view(items):
    return [
        (i.index, i.line, i.text, i.context)
        if isinstance(i, Record)
        else (i.index, i.line, i.reason)
        for i in items
    ]


def write(path, data: bytes):
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("name", ["a.txt", "a.txt.gz"])
def test_txt(tmp_path, name):
    path = write(tmp_path / name, "\ufeff一\n\n二 三\r\n四".encode() + b"\n\xff\xfe\n")
    assert view(iter_items(str(path))) == [
        (0, 1, "一", None),
        (1, 2, "", None),
        (2, 3, "二 三", None),
        (3, 4, "四", None),
        (4, 5, "invalid-utf8"),
    ]


@pytest.mark.parametrize("name", ["a.jsonl", "a.jsonl.gz"])
def test_jsonl_context_and_rejects(tmp_path, name):
    lines = [
        '{"text": "好", "id": 1, "tags": ["a"]}',
        '{"text": "\\ud800x"}',
        '{"text": "ok", "note": "\\udfff"}',
        '{"text": "\\ud83d\\ude00"}',  # a valid pair: an emoji
        "{broken",
        "[1, 2]",
        '{"body": "no text"}',
        '{"text": null}',
        "",
        '{"text": "太长了太长了"}',
    ]
    path = write(tmp_path / name, ("\n".join(lines) + "\n").encode() + b'{"text": "\xff"}\n')
    assert view(iter_items(str(path), max_chars=5)) == [
        (0, 1, "好", {"id": 1, "tags": ["a"]}),
        (1, 2, "lone-surrogate"),
        (2, 3, "lone-surrogate"),
        (3, 4, "\U0001f600", {}),
        (4, 5, "invalid-json"),
        (5, 6, "not-an-object"),
        (6, 7, "missing-text"),
        (7, 8, "text-not-a-string"),
        (8, 10, "too-long"),
        (9, 11, "invalid-utf8"),
    ]


def test_text_key(tmp_path):
    path = write(tmp_path / "a.jsonl", b'{"review": "\xe5\xa5\xbd", "text": "x"}\n')
    assert view(iter_items(str(path), text_key="review")) == [(0, 1, "好", {"text": "x"})]


@pytest.mark.parametrize("name,sep", [("a.csv", ","), ("a.tsv", "\t"), ("a.csv.gz", ",")])
def test_csv_tsv(tmp_path, name, sep):
    rows = [
        ["id", "text", "label"],
        ["1", "好", "pos"],
        ["2", "坏"],  # too few fields
        [],
        ["3", "两行\n文本", "neg"],
        ["4", "差", "neg", "extra"],
        ["5", "末", "pos"],
    ]

    def fmt(row):
        return sep.join(f'"{c}"' if "\n" in c else c for c in row)

    data = "\n".join(fmt(r) for r in rows).encode() + b"\n6" + sep.encode() + b"\xff\n"
    path = write(tmp_path / name, data)
    assert view(iter_items(str(path))) == [
        (0, 2, "好", {"id": "1", "label": "pos"}),
        (1, 3, "bad-field-count"),
        (2, 5, "两行\n文本", {"id": "3", "label": "neg"}),
        (3, 7, "bad-field-count"),
        (4, 8, "末", {"id": "5", "label": "pos"}),
        (5, 9, "invalid-utf8"),
    ]


def test_csv_without_text_column(tmp_path):
    path = write(tmp_path / "a.csv", b"id,body\n1,x\n")
    with pytest.raises(DataFileError, match="no column 'text'.*--text-key"):
        list(iter_items(str(path)))


def test_directory_of_txt(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    write(folder / "b.txt", "第二\n篇\n".encode())
    write(folder / "a.txt", "第一".encode())
    write(folder / "c.txt", b"\xff")
    write(folder / "notes.md", b"ignored")
    items = list(iter_items(str(folder)))
    assert [(i.source, i.line) for i in items] == [
        (str(folder / "a.txt"), None),
        (str(folder / "b.txt"), None),
        (str(folder / "c.txt"), None),
    ]
    assert [getattr(i, "text", None) for i in items[:2]] == ["第一", "第二\n篇\n"]
    assert isinstance(items[2], Reject) and items[2].reason == "invalid-utf8"


def test_input_errors(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        list(iter_items(str(tmp_path / "missing.txt")))
    with pytest.raises(DataFileError, match="unknown format"):
        list(iter_items(str(write(tmp_path / "a.xml", b"<a/>"))))
    with pytest.raises(DataFileError, match="cannot be read"):
        (tmp_path / "fake.txt.gz").write_bytes(b"\x1f\x8bnot gzip")
        list(iter_items(str(tmp_path / "fake.txt.gz")))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    write(mixed / "a.txt", b"x")
    write(mixed / "b.png", b"x")
    with pytest.raises(DataFileError, match="both"):
        list(iter_items(str(mixed)))


def test_import_is_cheap():
    from tests.imports import loaded_after

    watched = ("torch", "PIL", "tqdm", "spacy")
    assert loaded_after("spacy_kexue.corpus", watched) == []
    assert loaded_after("spacy_kexue.cli", ("torch", "PIL", "tqdm")) == []
