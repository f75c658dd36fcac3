"""Where ``kexue_textcat`` leaves each doc's LSTM states for ``kexue_saliency``.

The states stay beside the Docs, in memory, never in ``doc.user_data``: they are not written by
``Doc.to_bytes`` or ``DocBin``, and a doc's entry goes when the doc is garbage collected. The
store is also bounded: past ``capacity`` docs the oldest entries are dropped (a doc whose
states were dropped gets them recomputed by the saliency component), so a pipeline whose
saliency component is disabled keeps at most ``capacity`` docs' states alive (once it is
removed, or switched to occlusion, the textcat has no listener and keeps none).
A pickled store comes back empty.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

from spacy.tokens import Doc

DEFAULT_CAPACITY = 2048


class StateStore:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self.capacity = capacity
        self._items: OrderedDict[int, tuple[weakref.ref, Any]] = OrderedDict()

    def put(self, doc: Doc, states: Any) -> None:
        key = id(doc)
        items = self._items

        def forget(_ref: weakref.ref, key: int = key) -> None:
            entry = items.get(key)
            if entry is not None and entry[0] is _ref:
                del items[key]

        items[key] = (weakref.ref(doc, forget), states)
        items.move_to_end(key)
        while len(items) > self.capacity:
            items.popitem(last=False)

    def pop(self, doc: Doc) -> Any | None:
        """The doc's states (removed from the store), or None."""
        entry = self._items.pop(id(doc), None)
        if entry is None or entry[0]() is not doc:
            return None
        return entry[1]

    def __len__(self) -> int:
        return len(self._items)

    def __reduce__(self):
        return (StateStore, (self.capacity,))
