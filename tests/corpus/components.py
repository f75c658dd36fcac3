"""Test-only components for ``kexue pipe --code``: never imported by the shipped code.

``fussy`` raises ValueError on texts with 坏; ``sleepy`` sleeps ``KEXUE_TEST_SLEEP`` seconds (default 0.1) per doc, so a run can be
interrupted; ``die`` ends its process with ``os._exit(3)`` on texts with 死, as an OOM kill would.
"""

import os
import time

from spacy.language import Language


@Language.component("kexue_test_sleepy")
def sleepy(doc):
    time.sleep(float(os.environ.get("KEXUE_TEST_SLEEP", "0.1")))
    return doc


@Language.component("kexue_test_die")
def die(doc):
    if "死" in doc.text:
        os._exit(3)
    return doc


@Language.component("kexue_test_fussy")
def fussy(doc):
    if "坏" in doc.text:
        raise ValueError("this component refuses 坏")
    return doc
