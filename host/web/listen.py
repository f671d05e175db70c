"""Where and how `host serve` and `host run` listen: a non-loopback address only with TLS.

Sign-in passwords, session cookies, API tokens and the ingress tokens all cross this socket,
so listening beyond the machine in clear text is refused, with one line that says what to
pass instead: a certificate and key (uvicorn serves TLS itself), or `--behind-proxy` when a
reverse proxy ends TLS and forwards here. Behind a proxy, uvicorn trusts X-Forwarded-Proto and
X-Forwarded-For from FORWARDED_ALLOW_IPS only, which makes session cookies Secure and rate
limits count the real client address.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from host.config import Settings
from host.errors import HostError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name may resolve anywhere


def listen_options(
    host: str,
    settings: Settings,
    *,
    certfile: Path | None = None,
    keyfile: Path | None = None,
    behind_proxy: bool = False,
) -> dict[str, Any]:
    """uvicorn's options for listening on `host` (flags win over SSL_*/BEHIND_PROXY settings)."""
    certfile = certfile or settings.ssl_certfile
    keyfile = keyfile or settings.ssl_keyfile
    behind_proxy = behind_proxy or settings.behind_proxy
    if (certfile is None) != (keyfile is None):
        raise HostError("--ssl-certfile and --ssl-keyfile go together: give both or neither")
    for path in (certfile, keyfile):
        if path is not None and not path.is_file():
            raise HostError(f"no such file: {path} (TLS certificate or key)")
    if certfile is None and not behind_proxy and not is_loopback(host):
        raise HostError(
            f"refusing to listen on {host} without TLS: pass --ssl-certfile and --ssl-keyfile"
            " (or set SSL_CERTFILE and SSL_KEYFILE), or --behind-proxy if a TLS proxy forwards"
            " to this port; or listen on 127.0.0.1"
        )
    options: dict[str, Any] = {"proxy_headers": behind_proxy}
    if behind_proxy:
        options["forwarded_allow_ips"] = settings.forwarded_allow_ips
    if certfile is not None:
        options |= {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)}
    return options
