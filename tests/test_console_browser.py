"""The console in a real browser: headless Chromium (Debian's, driven by Playwright) against
`host serve`'s app on a real uvicorn, with a real stream started from the Streams page by the
real builder (voices, video, HLS preview, audit database).

Each page is photographed into docs/screenshots/ as the tests pass through it (the README's
Console section shows them).
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from websockets.sync.client import connect

from host.accounts import create_user
from host.catalog.export import export_catalog
from host.config import REPO_ROOT, Settings
from host.db import models as db
from host.db.engine import make_engine
from host.promptlib import library
from host.stream.layout import Layout
from host.web.app import create_app

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO_ROOT / "docs" / "screenshots"
PASSWORD = "correct horse battery staple"
TOKEN = "console-test-ingress-token"
WIDTH, HEIGHT = 360, 640
STREAM = """name: shop
merchant: demo
sources:
  - kind: websocket
    token_env: CONSOLE_TEST_TOKEN
sinks:
  - kind: mp4
    path: {out}/shop.mp4
pitches:
  idle_s: 600
"""


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, demo_template: Path
) -> Iterator[tuple[str, Engine, Path]]:
    """`host serve`'s app on 127.0.0.1 (a thread of its own), the demo catalog, a stream file
    and an admin who signs in with a password."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    work = tmp_path_factory.mktemp("console")
    database = work / "livehost.db"
    shutil.copyfile(demo_template, database)
    streams = work / "streams"
    streams.mkdir()
    (streams / "shop.yaml").write_text(STREAM.format(out=work))
    mp = pytest.MonkeyPatch()
    mp.setenv("CONSOLE_TEST_TOKEN", TOKEN)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{database}",
        var_dir=work / "var",
        products_dir=REPO_ROOT / "products",
        streams_dir=streams,
        width=WIDTH,
        height=HEIGHT,
        hls_segment_seconds=1.0,
        approve_timeout_s=45.0,
    )
    engine = make_engine(settings.database_url)
    create_user(engine, "olga", "admin", PASSWORD)
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", engine, work
    server.should_exit = True  # the lifespan stops the stream: recordings closed
    thread.join(30)
    engine.dispose()
    mp.undo()


@pytest.fixture(scope="module")
def page(served: tuple[str, Engine, Path]) -> Iterator[Any]:
    """One signed-in browser tab for the module (signing in is the first thing tested)."""
    url = served[0]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 900}, base_url=url)
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        yield tab
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def expect(page: Any) -> Any:
    return playwright.expect(page)


def test_anonymous_is_sent_to_sign_in_and_signs_in(page: Any) -> None:
    page.goto("/streams")
    assert "/login" in page.url
    page.fill("input[name=name]", "olga")
    page.fill("input[name=password]", PASSWORD)
    shot(page, "login")
    page.click("button[type=submit]")
    page.wait_for_url("**/streams")
    expect(page.locator("header .who")).to_contain_text("olga · admin")
    shot(page, "streams-idle")


def test_catalog_upload_shows_report_and_diff_then_imports_on_confirm(
    page: Any, served: tuple[str, Engine, Path]
) -> None:
    _, engine, work = served
    exported = export_catalog(engine, "demo", "csv").splitlines()
    header = exported[0].split(",")
    row = exported[1].split(",")
    sku, price_at = row[header.index("sku")], header.index("price")
    row[price_at] = "1234.00"
    upload = work / "catalog.csv"
    upload.write_text("\n".join([exported[0], ",".join(row), *exported[2:]]) + "\n")
    bad = work / "bad.csv"
    bad.write_text(exported[0] + "\n" + ",".join(["" for _ in header]) + "\n")

    page.goto("/catalog?merchant=demo")
    expect(page.locator("#products tbody tr")).not_to_have_count(0)
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload button[type=submit]")
    expect(page.locator("#report-summary")).to_contain_text("Not valid")
    expect(page.locator("#confirm")).to_be_hidden()

    page.set_input_files("#upload-file", str(upload))
    page.click("#upload button[type=submit]")
    expect(page.locator("#report-summary")).to_contain_text("1 changed")
    expect(page.locator("#diff")).to_contain_text(sku)
    expect(page.locator("#diff")).to_contain_text("1234")
    shot(page, "catalog-check")
    with Session(engine) as s:  # a check changes nothing
        assert s.scalar(select(db.Product.price).where(db.Product.sku == sku)) != 1234
    page.click("#confirm")
    expect(page.locator("#report-summary")).to_contain_text("Imported")
    expect(page.locator(f'#products tr[data-sku="{sku}"] input.price')).to_have_value("1234.00")
    page.fill("#search", sku)
    expect(page.locator("#products tbody tr")).to_have_count(1)
    shot(page, "catalog")


def test_stream_started_from_the_page_plays_its_preview(page: Any) -> None:
    page.goto("/streams")
    page.select_option("#start-file", "shop.yaml")
    page.click("#start button[type=submit]")
    expect(page.locator('tr[data-stream="shop"] .state')).to_have_text("on air", timeout=90_000)
    shot(page, "streams")
    page.click('a[href="/streams/shop/live"]')
    expect(page.locator("#card-sku")).not_to_be_empty(timeout=30_000)
    first = _video_time(page, above=0.0)
    later = _video_time(page, above=first + 1.0)
    assert later > first + 1.0  # the preview plays: its clock moves


def test_price_edited_in_the_catalog_reaches_the_running_preview_card(
    page: Any, served: tuple[str, Engine, Path]
) -> None:
    page.goto("/streams/shop/live")
    sku = page.locator("#card-sku").inner_text(timeout=30_000)
    _video_time(page, above=0.5)
    before = _card_pixels(page)
    page.wait_for_timeout(1000)
    still = _difference(before, _card_pixels(page))
    page.goto("/catalog?merchant=demo")
    row = page.locator(f'#products tr[data-sku="{sku}"]')
    row.locator("input.price").fill("321.00")
    row.locator("button.save").click()
    expect(page.locator("#flash")).to_contain_text("on air at once")
    page.goto("/streams/shop/live")
    expect(page.locator("#card-price")).to_contain_text("321.00", timeout=15_000)
    # and in the decoded video: the card's pixels change once the new price is drawn
    # (HLS is a few seconds behind), while an idle card alone holds still
    changed = 0.0
    for _ in range(40):
        page.wait_for_timeout(500)
        if page.evaluate("document.getElementById('preview').currentTime") > 0.5:
            changed = _difference(before, _card_pixels(page))
            if changed > max(1.0, 10 * still):
                break
    assert changed > max(1.0, 10 * still), (still, changed)  # seen: idle 0.01, edited 3.2
    _, engine, _ = served
    with Session(engine) as s:
        change = s.scalars(select(db.Change).order_by(db.Change.id.desc())).first()
    assert change is not None and change.who == "olga" and sku in change.target


def test_reply_waits_for_approval_then_goes_on_air_with_who_approved(
    page: Any, served: tuple[str, Engine, Path]
) -> None:
    url, engine, _ = served
    page.goto("/streams/shop/live")
    page.check("#approve-mode")
    expect(page.locator("#approve-mode")).to_be_checked()
    page.wait_for_timeout(1500)  # the poll shows the mode the session holds
    expect(page.locator("#approve-mode")).to_be_checked()
    _comment(url, "a1", "Tom", "How much is the down jacket?")
    waiting = page.locator("#pending .pending")
    expect(waiting).to_have_count(1, timeout=30_000)
    expect(waiting).to_contain_text("How much is the down jacket?")
    shot(page, "live-approve")
    waiting.locator("button.approve").click()
    line = page.locator("#lines li", has_text="approved by olga")
    expect(line).to_have_count(1, timeout=30_000)
    with Session(engine) as s:
        reply = s.scalars(
            select(db.ReplyRecord).where(db.ReplyRecord.approved_by.is_not(None))
        ).one()
        asked = s.get(db.CommentRecord, reply.comment_id)
        approvals = s.scalars(select(db.Change).where(db.Change.action == "live.approve")).all()
    assert reply.approved_by == "olga" and asked is not None and asked.message_id == "a1"
    assert [a.who for a in approvals] == ["olga"]
    page.uncheck("#approve-mode")


def test_typed_line_is_said_next_and_audited_with_who(
    page: Any, served: tuple[str, Engine, Path]
) -> None:
    _, engine, _ = served
    page.goto("/streams/shop/live")
    page.fill("#say-text", "Thanks for watching, everyone!")
    page.click("#say button[type=submit]")
    spoken = page.locator("#lines li", has_text="Thanks for watching, everyone!")
    expect(spoken).to_have_count(1, timeout=30_000)
    expect(spoken).to_contain_text("takeover")
    page.wait_for_timeout(1500)  # the latency chart and the feed settle
    shot(page, "live")
    with Session(engine) as s:
        typed = s.scalars(select(db.ReplyRecord).where(db.ReplyRecord.intent == "takeover")).one()
    assert (typed.text, typed.approved_by, typed.guard_ok) == (
        "Thanks for watching, everyone!",
        "olga",
        True,
    )


def test_account_and_avatar_pages(page: Any) -> None:
    page.goto("/account")
    page.fill("#new-token input[name=name]", "bridge")
    page.click("#new-token button[type=submit]")
    expect(page.locator("#new-token-value")).to_contain_text("bridge: ")
    expect(page.locator("#tokens tbody tr")).to_have_count(1)
    expect(page.locator("#changes")).to_contain_text("live.approve")
    page.evaluate(  # the picture in the repository shows no token, not even a test one
        "document.getElementById('new-token-value').textContent = 'bridge: lh_… (shown once)'"
    )
    shot(page, "account")
    page.goto("/avatars")
    expect(page.locator("#avatars")).to_contain_text("No avatars yet")
    shot(page, "avatars")


def test_marketer_diffs_saves_moves_staging_and_tries_the_playground(
    page: Any, served: tuple[str, Engine, Path]
) -> None:
    _, engine, _ = served
    create_user(engine, "mia", "marketer", PASSWORD)
    library.seed(engine, REPO_ROOT / "prompts")
    seeded = library.version(engine, "answers", 1).body
    colleague = seeded.replace('"Hi {names}!"', '"Hi there {names}!"')
    assert colleague != seeded
    library.save_version(engine, "answers", colleague, author="kim", note="warmer greeting")

    page.context.clear_cookies()
    page.goto("/prompts")
    assert "/login" in page.url
    page.fill("input[name=name]", "mia")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/prompts")
    expect(page.locator("header .who")).to_contain_text("mia · marketer")
    expect(page.locator('#items tr[data-ref="answers"]')).to_contain_text("production → v1")
    page.click('#items tr[data-ref="answers"] a')
    expect(page.locator("#item-ref")).to_have_text("answers")
    expect(page.locator("#versions tbody tr")).to_have_count(2)
    page.click("#diff-form button[type=submit]")  # v1 → v2, the colleague's edit
    expect(page.locator("#diff .del", has_text='"Hi {names}!"')).to_have_count(1)
    expect(page.locator("#diff .add", has_text='"Hi there {names}!"')).to_have_count(1)

    page.fill("#edit", "hello: there\n")  # no section the answerer needs
    page.fill("#note", "broken")
    page.click("#save button[type=submit]")
    expect(page.locator("#problems .problems")).to_contain_text("Not saved")
    expect(page.locator("#problems li")).not_to_have_count(0)
    expect(page.locator("#versions tbody tr")).to_have_count(2)

    page.fill("#edit", colleague.replace('"Hi there {names}!"', '"Welcome in, {names}!"'))
    page.fill("#note", "welcome line")
    page.click("#save button[type=submit]")
    expect(page.locator("#saved")).to_contain_text("Saved as v3")
    expect(page.locator("#versions tbody tr")).to_have_count(3)
    page.fill("#move-label", "staging")
    page.select_option("#move-version", "3")
    page.click("#move button[type=submit]")
    expect(page.locator("#move-result")).to_contain_text("staging now points at v3 (was v1)")
    expect(page.locator('#items tr[data-ref="answers"]')).to_contain_text("staging → v3")
    assert library.version(engine, "answers", None, "staging").number == 3

    page.fill("#play-comment", "hello!")
    page.fill("#play-label", "staging")
    page.click("#play button[type=submit]")
    expect(page.locator("#play-result")).to_be_visible(timeout=30_000)
    expect(page.locator("#play-reply")).not_to_be_empty()
    expect(page.locator("#play-guard")).to_have_text("passed")
    expect(page.locator("#play-latency")).to_contain_text(" ms")
    page.click("#diff-form button[type=submit]")  # v2 → v3 for the picture
    expect(page.locator("#diff .add", has_text="Welcome in")).to_have_count(1)
    shot(page, "prompts")
    with Session(engine) as s:
        moves = s.scalars(select(db.Change).where(db.Change.who == "mia")).all()
    assert moves  # the save and the move are in the changes trail


def _comment(url: str, message_id: str, user: str, text: str) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/ingress/shop"
    with connect(ws_url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        assert json.loads(ws.recv())["type"] == "ready"
        ws.send(json.dumps({"type": "comment", "id": message_id, "user": user, "text": text}))
        assert json.loads(ws.recv())["status"] == "accepted"


def _card_pixels(page: Any) -> list[int]:
    """Grey levels of the product card's box in the preview's current decoded frame."""
    left, bottom, width = Layout(WIDTH, HEIGHT, "top-left").card_box()
    height = width // 2
    box = [left, bottom - height, width, height]
    pixels: list[int] = page.evaluate(
        """([x, y, w, h]) => {
            const video = document.getElementById("preview");
            const canvas = document.createElement("canvas");
            canvas.width = video.videoWidth;
            canvas.height = video.videoHeight;
            const context = canvas.getContext("2d");
            context.drawImage(video, 0, 0);
            const data = context.getImageData(x, y, w, h).data;
            const grey = [];
            for (let i = 0; i < data.length; i += 4) {
                grey.push((data[i] + data[i + 1] + data[i + 2]) / 3);
            }
            return grey;
        }""",
        box,
    )
    return pixels


def _difference(a: list[int], b: list[int]) -> float:
    """Mean absolute difference of two grey samples (0: the same picture)."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def _video_time(page: Any, *, above: float) -> float:
    """The preview's currentTime once it passes `above` (HLS playing in the page)."""
    page.wait_for_function(
        f"document.getElementById('preview').currentTime > {above}", timeout=60_000
    )
    return float(page.evaluate("document.getElementById('preview').currentTime"))
