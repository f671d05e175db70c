"""What `host run --check` verifies before anything starts, and `host run` before it goes live.

Everything a stream needs that can be wrong in a file or the environment is named here as
one line: the merchant's catalog and lineup, each source's settings, each sink's target, the
voices and the avatar. Nothing connects to a platform.
"""

from __future__ import annotations

from sqlalchemy import Engine

from host.catalog.snapshot import LiveCatalog
from host.catalog.store import ensure_demo_catalog, merchant_has_products
from host.chat.sources.registry import SOURCES, SourceContext
from host.config import Settings
from host.errors import HostError
from host.face.avatars import load_avatar
from host.session.builder import make_sink
from host.session.spec import StreamSpec
from host.stream.clock import WallClock
from host.voice.registry import VOICES


def check_stream(spec: StreamSpec, settings: Settings, engine: Engine) -> str:
    """A one-line summary of the stream, or HostError naming the first problem."""
    if spec.merchant == settings.demo_merchant:
        ensure_demo_catalog(engine, settings)  # rehearsals on the demo catalog just work
    if not merchant_has_products(engine, spec.merchant):
        raise HostError(
            f"stream {spec.name}: merchant {spec.merchant!r} has no products"
            f" (host catalog import FILE --merchant {spec.merchant})"
        )
    catalog = LiveCatalog(engine, spec.merchant, lineup=spec.lineup)
    try:
        catalog.load()
    except LookupError as error:
        raise HostError(f"stream {spec.name}: {error}") from None
    products = len(catalog.snapshot.products)
    ctx = SourceContext(settings=settings, clock=WallClock(), stream=spec.name)
    for source in spec.sources:
        SOURCES[source.kind](ctx)  # raises HostError naming a missing setting
        if source.path is not None and not source.path.is_file():
            raise HostError(f"stream {spec.name}: replay file {source.path} not found")
    sinks = [make_sink(sink, spec, settings, environ=None) for sink in spec.sinks]
    for language, name in (("en", settings.voice_en), ("zh", settings.voice_zh)):
        if name not in VOICES:
            known = ", ".join(sorted(VOICES))
            raise HostError(
                f"stream {spec.name}: unknown {language} voice {name!r}; known: {known}"
            )
        try:
            VOICES[name](settings)  # checks its voice file or model folder; loads nothing
        except HostError as error:
            raise HostError(f"stream {spec.name}: {error}") from None
    if settings.avatar:
        load_avatar(settings, settings.avatar)
    return (
        f"merchant {spec.merchant} ({products} products, {len(catalog.lineup())} in the lineup)"
        f" · sources: {', '.join(s.kind for s in spec.sources)}"
        f" · sinks: {', '.join(s.name for s in sinks)}"
    )
