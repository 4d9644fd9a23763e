"""Stream URLs: tcp://host:port (framewire/1) and tls://host:port (the same inside TLS)."""
from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from .errors import FramewireError

DEFAULT_TCP_PORT = 8880
SCHEMES = ("tcp", "tls")


class StreamUrl(NamedTuple):
    scheme: str
    host: str
    port: int


def parse_stream_url(url: str) -> StreamUrl:
    expected = "expected tcp://HOST:PORT or tls://HOST:PORT"
    try:
        u = urlsplit(url)
        port = u.port
    except ValueError as e:
        raise FramewireError("E_BAD_PARAMS", f"not a stream URL: {url!r} ({e}; {expected})") from None
    if u.scheme not in SCHEMES:
        hint = " (the tutorial's format is not spoken by the Python client)" if u.scheme == "seed" else ""
        raise FramewireError("E_BAD_PARAMS", f"unsupported scheme {u.scheme!r} in {url!r}: {expected}{hint}")
    if not u.hostname:
        raise FramewireError("E_BAD_PARAMS", f"no host in {url!r}: {expected}")
    return StreamUrl(u.scheme, u.hostname, port if port is not None else DEFAULT_TCP_PORT)
