"""Waiting on other threads and processes over loopback without depending on how busy the machine is.

The suite runs on a small machine next to other copies of itself: a thread or server may not get the CPU for
seconds. So a test waits for what it needs with a bound far past any stall (PATIENCE: free when things are
fast), keeps a short timeout only where the timeout itself is the behaviour under test, and never reuses a port
it gave back.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PATIENCE = 60.0  # seconds: how long a test waits for another thread, process or server before it fails


@contextmanager
def refused_port() -> Iterator[int]:
    """A loopback port where a connection is refused at once, for as long as the block runs: bound (so no other
    process can take it meanwhile) but not listening."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


def wait_until(done: Callable[[], object], what: str, timeout: float = PATIENCE) -> None:
    """Return as soon as `done()` is true; fail naming `what` if it is still false after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:g} s for {what}")
        time.sleep(0.01)
