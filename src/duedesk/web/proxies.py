"""The address a request came from, for login lockout (django-axes calls `client_ip`).

X-Forwarded-For is believed only from the proxies named in settings.TRUSTED_PROXIES (DUEDESK_TRUSTED_PROXIES):
the connecting peer must be one of them, and the client is the right-most hop that is not. Anyone else can
write any X-Forwarded-For they like, so without trusted proxies the peer address stands (and lockout keys on
the username alone; see settings). django-ipware, axes' default, believes proxies only when they appear
inside X-Forwarded-For, not as the peer that hands the request on, which is how nginx and load balancers work.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]):
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _trusted(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(request) -> str:
    peer = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.TRUSTED_PROXIES))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to the proxy, never to the garbage
    return peer
