"""Store policy belongs to the merchant: stored per merchant, stated only as it was given."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from host.ask import Asker
from host.catalog.importer import import_file
from host.catalog.policy import PolicyError, load_policy, read_policy, set_policy
from host.catalog.store import DbCatalog
from host.chat.events import Comment
from host.chat.triage import Triage
from host.cli import app
from host.config import REPO_ROOT, Settings
from host.reply.answerer import CatalogAnswerer
from host.session.audit import SpokenReply

DEMO_POLICY = REPO_ROOT / "products" / "demo" / "policy.yaml"
POLICY_QUESTIONS = (
    "包邮吗",
    "几天发货",
    "可以退货吗",
    "是正品吗",
    "do you ship for free?",
    "refund?",
)
# What the demo shop promises; no other merchant may hear it unless it gave the same.
DEMO_PROMISES = ("包邮", "48", "7天", "官方", "free", "7 days", "official")

runner = CliRunner()


def _shop(engine: Engine, tmp_path: Path) -> DbCatalog:
    """A second merchant with a catalog of its own and no policy."""
    csv = tmp_path / "shop.csv"
    csv.write_text(
        "sku,name,name_en,price,currency,stock,link\nPB-1,充电宝,Power Bank,99,CNY,20,1\n",
        encoding="utf-8",
    )
    assert not import_file(engine, csv, "shop", by="test").errors
    return DbCatalog(engine, "shop")


def test_demo_policy_comes_with_the_demo_catalog(demo_catalog: DbCatalog) -> None:
    assert demo_catalog.policy() == load_policy(DEMO_POLICY)
    assert "48小时" in demo_catalog.policy().says("shipping", "zh")[0]


def test_a_merchant_without_policy_is_promised_nothing(
    demo_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    asker = Asker.from_settings(_shop(demo_engine, tmp_path), settings)
    for question in POLICY_QUESTIONS:
        reply = asker.ask(question).reply
        assert not any(promise in reply for promise in DEMO_PROMISES), (question, reply)
        assert "店铺" in reply or "shop page" in reply or "product page" in reply, reply


def test_each_merchant_hears_its_own_policy(
    demo_engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    shop = _shop(demo_engine, tmp_path)
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "shipping:\n  zh: 满99元包邮，72小时内发货。\n  en: Orders ship within 72 hours.\n",
        encoding="utf-8",
    )
    set_policy(demo_engine, "shop", load_policy(policy))
    asker = Asker.from_settings(shop, settings)
    assert "72小时" in asker.ask("几天发货").reply
    assert "72 hours" in asker.ask("when do you ship?").reply
    returns = asker.ask("可以退货吗").reply  # a topic the shop left out
    assert "7天" not in returns and "店铺页面" in returns
    demo = Asker.from_settings(DbCatalog(demo_engine, "demo"), settings)
    assert "48小时" in demo.ask("几天发货").reply  # the demo shop's policy is untouched


def test_policy_round_trips_on_each_backend(engine: Engine) -> None:
    policy = load_policy(DEMO_POLICY)
    set_policy(engine, "m", policy)
    assert read_policy(engine, "m") == policy
    assert read_policy(engine, "nobody").answers == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("shiping:\n  zh: 包邮\n", "unknown topic 'shiping'"),
        ("returns:\n  fr: retours\n", "returns.fr: language must be zh or en"),
        ("returns:\n  zh: []\n", "returns.zh: expected text or a list of texts"),
        ("- shipping\n", "expected a mapping of topics"),
        ("returns: [\n", "while parsing"),
    ],
)
def test_a_bad_policy_file_is_one_line_naming_the_file_and_topic(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    message = str(error.value)
    assert message.startswith(str(path)) and reason in message and "\n" not in message


def test_policy_commands_set_and_show_a_merchants_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    result = runner.invoke(app, ["catalog", "policy", "set", str(DEMO_POLICY), "--merchant", "s"])
    assert result.exit_code == 0, result.output
    assert "shipping" in result.output
    shown = runner.invoke(app, ["catalog", "policy", "show", "--merchant", "s"])
    assert shown.exit_code == 0 and "48小时" in shown.output
    other = runner.invoke(app, ["catalog", "policy", "show", "--merchant", "t"])
    assert other.exit_code == 0 and "48" not in other.output
    bad = runner.invoke(app, ["catalog", "policy", "set", "nope.yaml", "--merchant", "s"])
    assert bad.exit_code == 1 and len(bad.output.strip().splitlines()) == 1


def test_ask_logs_a_policy_answer_with_its_topic(
    demo_catalog: DbCatalog, settings: Settings
) -> None:
    asker = Asker.from_settings(demo_catalog, settings)
    assert asker.ask("包邮吗").intent == "shipping"
    assert asker.ask("can i return it?").intent == "returns"
    assert json.loads(json.dumps(asker.ask("能开发票吗").as_json()))["intent"] == "invoice"


def test_the_audit_logs_a_policy_answer_with_its_topic(demo_catalog: DbCatalog) -> None:
    triage = Triage([])
    triage.offer(Comment("test", "room", "m1", "u1", "Lily", "包邮吗？"), 0.0)
    item = triage.pop(0.0)
    assert item is not None
    sentences = CatalogAnswerer().compose(item, demo_catalog)
    assert sentences[0].intent == "greeting" and sentences[1].intent == "shipping"
    assert SpokenReply.from_reply(item, sentences, []).intent == "shipping"
