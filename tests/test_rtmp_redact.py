"""A stream key never shows: not in a sink's name, a log line or an error, whatever the URL."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from host.stream.sinks.rtmp import redact, redact_url

LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,9}", fullmatch=True)
# What ingests hand out as keys and tokens: long, URL-safe, percent-escapes allowed.
SECRET = st.text(string.ascii_letters + string.digits + "_-.~%=", min_size=12, max_size=40)


@st.composite
def ingest_urls(draw: st.DrawFn) -> tuple[str, list[str], list[str]]:
    """(url, its secrets, the parts that may show) for ingest URLs of every shape."""
    scheme = draw(st.sampled_from(["rtmp", "rtmps", "RTMP"]))
    host = ".".join(draw(st.lists(LABEL, min_size=1, max_size=3)))
    port = draw(st.none() | st.integers(1, 65535))
    key_in_path = draw(st.booleans())  # the usual place; else the query carries it
    # the app, maybe an instance; a key in the query follows the app alone (Bilibili)
    app_path = draw(st.lists(LABEL, min_size=1, max_size=3 if key_in_path else 1))
    secrets: list[str] = []
    userinfo = ""
    if draw(st.booleans()):
        user, password = draw(LABEL), draw(SECRET)
        userinfo, secrets = f"{user}:{password}@", [password]
    path = "/" + "/".join(app_path)
    if key_in_path:
        key = draw(SECRET)
        secrets.append(key)
        path += f"/{key}" + draw(st.sampled_from(["", "/"]))
    else:
        path += "/"
    query = ""
    names = draw(st.lists(st.sampled_from(["key", "token", "sign", "auth", "a"]), max_size=3))
    if names:
        values = [draw(SECRET) for _ in names]
        secrets += values
        query = "?" + "&".join(f"{n}={v}" for n, v in zip(names, values, strict=True))
    assume(key_in_path or names)
    address = f"{host}:{port}" if port is not None else host
    shown = [scheme, address, *app_path]
    assume(not any(secret in part for secret in secrets for part in shown))
    return f"{scheme}://{userinfo}{address}{path}{query}", secrets, shown


@given(ingest_urls())
def test_redacted_url_keeps_the_address_and_never_the_key(
    case: tuple[str, list[str], list[str]],
) -> None:
    url, secrets, shown = case
    safe = redact_url(url)
    assert not [secret for secret in secrets if secret in safe], safe
    assert safe.startswith(f"{shown[0].lower()}://") and shown[1] in safe


@given(ingest_urls())
def test_redacted_text_never_shows_a_secret_wherever_it_appears(
    case: tuple[str, list[str], list[str]],
) -> None:
    url, secrets, _ = case
    text = f"could not reach {url}; tried {url.rstrip('/')} with " + ", ".join(secrets)
    safe = redact(text, url)
    assert not [secret for secret in secrets if secret in safe], safe
    assert redact_url(url) in safe


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("rtmp://h/live/KEY123/", "rtmp://h/live/***"),
        ("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl", "rtmp://a.rtmp.youtube.com/live2/***"),
        (
            "rtmps://u:pa55word@live.example.com:443/app/sk_live_ABC123?auth=zz9",
            "rtmps://***@live.example.com:443/app/***?***",
        ),
        (
            "rtmp://live-push.bilivideo.com/live-bvc/?streamname=live_1_2&key=9f8e7d6c",
            "rtmp://live-push.bilivideo.com/live-bvc?***",
        ),
        (
            "rtmp://push.example.com/stage/app/stream-123?expire=1&sign=abcdef",
            "rtmp://push.example.com/stage/app/***?***",
        ),
        ("rtmp://127.0.0.1:1935/live", "rtmp://127.0.0.1:1935/***"),
    ],
)
def test_ingest_urls_of_each_platform_shape_are_shown_without_their_key(
    url: str, shown: str
) -> None:
    assert redact_url(url) == shown


def test_short_query_flags_are_not_treated_as_secrets() -> None:
    url = "rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-AbCdEf?s_bl=1&s_sw=0&a=AbTokenXyz9"
    said = redact("connect to rtmps://live-api-s.facebook.com:443/rtmp failed: 1 0", url)
    assert said == "connect to rtmps://live-api-s.facebook.com:443/rtmp failed: 1 0"
    assert "AbTokenXyz9" not in redact(f"sent a=AbTokenXyz9 to {url}", url)


@given(st.text())
def test_any_text_given_as_a_url_is_redacted_without_error(url: str) -> None:
    """A typo in a stream file must not turn into a traceback that prints the key."""
    assert isinstance(redact_url(url), str)
    assert isinstance(redact(f"could not open {url}", url), str)
