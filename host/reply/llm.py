"""The LLM responder: any OpenAI-compatible chat endpoint through langchain-openai, streamed.

Tokens are cut into sentences as they arrive and each sentence is handed on at once, so the
first one is being spoken while the model is still writing the rest. The prompt grounds
the model in the catalog (see `llm_prompt`); the guard still checks every line, because a
model can say anything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from host.catalog.facts import CatalogView, ProductFacts
from host.chat.events import Triaged
from host.config import Settings
from host.reply.answerer import find_products
from host.reply.events import Sentence
from host.reply.intents import detect
from host.reply.llm_prompt import Exchange, PromptBook
from host.reply.prompts import Language
from host.reply.sentences import SentenceCutter

LOCAL_KEY = "not-needed"  # local servers (vLLM, Ollama, llama.cpp) accept any key


def chat_model(settings: Settings) -> ChatOpenAI:
    """The chat client the settings describe; retries are off because the fallback is faster."""
    key = settings.openai_api_key or SecretStr(LOCAL_KEY)
    return ChatOpenAI(
        base_url=settings.openai_base_url,
        api_key=key,
        model=settings.openai_model,
        temperature=settings.llm_temperature,
        timeout=settings.llm_timeout_s,
        max_retries=0,
        streaming=True,
    )


@dataclass(frozen=True)
class Draft:
    """What a regeneration must know: the sentences already spoken and why the last was refused."""

    spoken: str = ""
    correction: str = ""


class LlmResponder:
    name = "llm"

    def __init__(
        self,
        chat: BaseChatModel,
        prompts: PromptBook,
        *,
        max_chars: int = 80,
        history: int = 3,
    ) -> None:
        self._chat = chat
        self._prompts = prompts
        self._max_chars = max_chars
        self._history: deque[Exchange] = deque(maxlen=history)

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmResponder:
        return cls(
            chat_model(settings),
            PromptBook(settings.prompts_dir / "llm"),
            max_chars=settings.sentence_max_chars,
            history=settings.llm_history,
        )

    @property
    def prompt_version(self) -> str:
        return self._prompts.version

    def in_play(self, text: str, catalog: CatalogView) -> list[ProductFacts]:
        """Products whose facts the model gets: those the comment names, then the one on screen."""
        products = find_products(text, catalog, limit=3)
        current = catalog.current()
        if current is not None and all(p.sku != current.sku for p in products):
            products.append(current)
        return products

    def respond(
        self, item: Triaged, catalog: CatalogView, draft: Draft = Draft()
    ) -> AsyncIterator[Sentence]:
        products = self.in_play(item.text, catalog)
        messages = [
            SystemMessage(self._system(item.language, catalog, products)),
            HumanMessage(
                self._prompts.reply(
                    item.text,
                    item.askers,
                    list(self._history),
                    gift=item.comment.kind in ("gift", "superchat"),
                    compact=item.compact,
                    late=item.late,
                    spoken=draft.spoken,
                    correction=draft.correction,
                )
            ),
        ]
        intent = next((i for i in detect(item.text) if i != "greeting"), "other")
        return self._sentences(messages, item.language, intent, products)

    def pitch(
        self,
        product: ProductFacts,
        language: Language,
        catalog: CatalogView,
        draft: Draft = Draft(),
    ) -> AsyncIterator[Sentence]:
        messages = [
            SystemMessage(self._system(language, catalog, [product])),
            HumanMessage(
                self._prompts.pitch(product, spoken=draft.spoken, correction=draft.correction)
            ),
        ]
        return self._sentences(messages, language, "pitch", [product])

    def remember(self, item: Triaged, reply: str) -> None:
        """Keep the exchange for the next prompts (called once a reply has been spoken)."""
        self._history.append(Exchange(", ".join(item.askers), item.text, reply))

    def _system(
        self, language: Language, catalog: CatalogView, products: Sequence[ProductFacts]
    ) -> str:
        return self._prompts.system(
            language, catalog.current(), catalog.lineup(), products, catalog.policy()
        )

    async def _sentences(
        self,
        messages: list[BaseMessage],
        language: Language,
        intent: str,
        products: Sequence[ProductFacts],
    ) -> AsyncIterator[Sentence]:
        """Stream, cut, and hand each sentence on as soon as the next token shows it is not last."""
        skus = tuple(p.sku for p in products)
        cutter = SentenceCutter(self._max_chars)
        pending: list[str] = []
        index = 0

        def sentence(text: str, last: bool) -> Sentence:
            return Sentence(text, language, intent, skus, self.name, index, last)

        async for chunk in self._chat.astream(messages):
            token = chunk.content if isinstance(chunk.content, str) else ""
            if not token:
                continue  # the first and last chunks carry no content
            if pending and token.strip():
                yield sentence(pending.pop(0), last=False)
                index += 1
            pending += cutter.feed(token)
            while len(pending) > 1:
                yield sentence(pending.pop(0), last=False)
                index += 1
        pending += cutter.flush()
        for i, text in enumerate(pending):
            yield sentence(text, last=i == len(pending) - 1)
            index += 1
