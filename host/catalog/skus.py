"""One spelling per SKU, so `LH-001`, `lh-001`, `ＬＨ-001` and `LH‑001` are one product.

Merchants type SKUs on phones (full-width letters), paste them from documents (typographic
dashes) and mix cases; the warehouse means one item. The policy: Unicode NFKC, every dash
(Unicode category Pd) folded to "-", runs of spaces to one, upper case. Imports store this
form and every lookup (`get`, edits, lineup) normalises what it is given the same way.
"""

from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")


def normalise_sku(text: str) -> str:
    folded = "".join(
        "-" if unicodedata.category(ch) == "Pd" else ch
        for ch in unicodedata.normalize("NFKC", text)
    )
    return _SPACES.sub(" ", folded).strip().upper()
