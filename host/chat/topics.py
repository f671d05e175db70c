"""What a viewer's question asks, so that viewers asking the same thing get one answer.

"How much is the down jacket?", "down jacket price" and "price of the puffer jacket" are
one question: the same facts (price) of the same product. Triage merges comments whose
topic is equal; the wording alone would keep them apart. The product is the one the
catalog finds in the text (link number, name, alias), else the product on screen, which
is what "how much?" means. Language is part of the topic because the answer is spoken in
one language.
"""

from __future__ import annotations

from host.catalog.facts import CatalogView
from host.reply.intents import PRODUCT_INTENTS, detect

# "3号链接多少钱" and "3号多少钱" ask the same: the word "link" only points at the product.
POINTERS = frozenset({"link"})


class CatalogTopics:
    def __init__(self, catalog: CatalogView) -> None:
        self._catalog = catalog

    def topic(self, text: str, language: str) -> str | None:
        asked = {i for i in detect(text) if i in PRODUCT_INTENTS}
        facts = sorted(asked - POINTERS or asked)
        if not facts:
            return None
        found = self._catalog.search(text, limit=1)
        if found:
            sku = found[0].product.sku
        else:
            current = self._catalog.current()
            if current is None:
                return None
            sku = current.sku
        return f"{language}:{sku}:{'+'.join(facts)}"
