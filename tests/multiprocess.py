"""Run ``nlp.pipe`` with and without ``n_process=2`` in a fresh interpreter, under a chosen
start method (spawn, fork), and return both results for comparison."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import json
    import multiprocessing
    import sys

    import spacy
    import torch

    {view}

    def main():
        multiprocessing.set_start_method(sys.argv[3], force=True)
        torch.set_num_threads(2)  # a parent thread pool, which a forked child must not reuse
        nlp = spacy.load(sys.argv[1])
        with open(sys.argv[2], encoding="utf-8") as f:
            texts = json.load(f)
        single = view(nlp.pipe(texts))
        multi = view(nlp.pipe(texts, n_process=2, batch_size=4))
        print(json.dumps({{"method": multiprocessing.get_start_method(), "single": single, "multi": multi}}))


    if __name__ == "__main__":
        main()
    """
)


def pipe_in_subprocess(
    model_dir: Path, texts: list[str], method: str, view: str, tmp_path: Path
) -> tuple[list, list]:
    """(single-process, two-process) results of ``view(docs)``; ``view`` is the source of a
    module-level ``def view(docs)`` returning JSON-serializable data."""
    (tmp_path / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    script = tmp_path / "multiprocess_pipe.py"
    script.write_text(SCRIPT.format(view=textwrap.dedent(view).strip()), encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script), str(model_dir), str(tmp_path / "texts.json"), method],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["method"] == method
    return result["single"], result["multi"]
