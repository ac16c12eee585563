"""Debian's Chromium for the browser tests. On a machine without it (a fresh CI runner, as root) apt installs
it in the background while the rest of the suite runs, and the browser tests, which run last, wait for it."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
STATUS = "DUEDESK_CHROMIUM_INSTALL"  # where the background install writes its exit status (one path per run)


def install_in_background() -> None:
    """Start `apt-get install chromium` if it is missing and this user may install it; once per run."""
    if Path(CHROMIUM).exists() or os.geteuid() != 0 or not shutil.which("apt-get") or os.environ.get(STATUS):
        return
    status = Path(tempfile.mkdtemp(prefix="duedesk-chromium-")) / "status"
    os.environ[STATUS] = str(status)  # the test processes are started after this, with it
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    script = f"(apt-get update && apt-get install -y chromium) > {status}.log 2>&1; echo $? > {status}.tmp; " \
             f"mv {status}.tmp {status}"
    subprocess.Popen(["sh", "-c", script], env=env, stdin=subprocess.DEVNULL, start_new_session=True)


def wait_for_chromium(timeout: float = 900) -> tuple[str | None, str]:
    """The browser's path, or None and why there is none."""
    status = os.environ.get(STATUS)
    if status:
        deadline = time.monotonic() + timeout
        while not Path(status).exists() and time.monotonic() < deadline:
            time.sleep(1)
        if not Path(CHROMIUM).exists():
            log = Path(f"{status}.log")
            tail = log.read_text(errors="replace")[-300:] if log.exists() else "no output"
            return None, f"could not install chromium: {tail}"
    if Path(CHROMIUM).exists():
        return CHROMIUM, ""
    return None, f"{CHROMIUM} is missing; install Debian's chromium package (needs root)"
