"""Texts through the Twilio transport to the local fake Twilio over loopback.

1. Rate limit off, one process: N texts (default 20,000) through TwilioSms.send -> texts/second a
   worker process can hand to Twilio (HTTP keep-alive, the fake on another thread).
2. Rate limit 100/s shared by 4 worker processes on PostgreSQL (needs DUEDESK_TEST_POSTGRES_URL; a
   scratch database is created beside it and dropped after): the measured rate and the most texts
   the fake saw in any one-second window.

    python bench/twilio_throughput.py [--texts 20000] [--limited 1500] [--rate 100] [--workers 4]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
os.environ.setdefault("DUEDESK_DATA_DIR", tempfile.mkdtemp(prefix="duedesk-bench-"))
os.environ.setdefault("DUEDESK_SECRET_KEY", "bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
os.environ["DUEDESK_LOG_LEVEL"] = "WARNING"

SENDER = "+12125550199"


class _Org:
    pk = 1
    sms_from = SENDER
    messaging_service_sid = ""

    def __init__(self, rate):
        self.sms_per_second = rate


def _sms(base_url, account_sid, token, rate, limiter):
    from duedesk.integrations.twilio.rest import TwilioRest
    from duedesk.integrations.twilio.transport import TwilioSms

    rest = TwilioRest(account_sid, token, base_url=base_url)
    return TwilioSms(rest, _Org(rate), limiter=limiter)


def _send_many(sms, n, prefix):
    from duedesk.channels.base import Outgoing

    for i in range(n):
        sms.send(Outgoing(channel="sms", to=f"+1415555{i % 10000:04d}", body="Maple Clinic: a reminder.",
                          idempotency_key=f"{prefix}:{i}", status_callback="http://127.0.0.1:9/hooks/twilio/sms/status"))


def unlimited(texts: int) -> None:
    from duedesk.integrations.twilio.fake import FakeTwilio
    from duedesk.integrations.twilio.ratelimit import InProcessLimiter

    with FakeTwilio(callbacks=False) as fake:
        sms = _sms(fake.base_url, fake.account_sid, fake.auth_token, 0, InProcessLimiter())
        _send_many(sms, 200, "warm")
        fake.clear()
        start = time.perf_counter()
        _send_many(sms, texts, "u")
        elapsed = time.perf_counter() - start
        assert len(fake.messages) == texts
    print(f"rate limit off, 1 process: {texts} texts in {elapsed:.1f} s = {texts / elapsed:,.0f} texts/s per process")


def _limited_worker(db_url, base_url, account_sid, token, rate, n, index, barrier):
    os.environ["DUEDESK_DATABASE_URL"] = db_url
    import django

    django.setup()
    from duedesk.integrations.twilio.ratelimit import DatabaseLimiter

    sms = _sms(base_url, account_sid, token, rate, DatabaseLimiter())
    barrier.wait()
    _send_many(sms, n, f"w{index}")


def limited(db_url: str, texts: int, rate: float, workers: int) -> None:
    from django.core.management import call_command
    from django.db import connections

    from duedesk.integrations.twilio.fake import FakeTwilio

    call_command("migrate", "channels", verbosity=0)
    connections.close_all()
    with FakeTwilio(callbacks=False) as fake:
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(workers + 1)
        per = texts // workers
        procs = [ctx.Process(target=_limited_worker, args=(db_url, fake.base_url, fake.account_sid,
                                                             fake.auth_token, rate, per, i, barrier))
                 for i in range(workers)]
        for p in procs:
            p.start()
        barrier.wait()
        start = time.perf_counter()
        for p in procs:
            p.join()
        elapsed = time.perf_counter() - start
        stamps = sorted(m["created"].timestamp() for m in fake.messages)
    total = len(stamps)
    span = stamps[-1] - stamps[0]
    j = peak = 0
    for i, t in enumerate(stamps):  # the most texts inside any window [t, t + 1s)
        while j < total and stamps[j] < t + 1.0:
            j += 1
        peak = max(peak, j - i)
    print(f"rate limit {rate:g}/s, {workers} processes on PostgreSQL: {total} texts in {elapsed:.1f} s, "
          f"measured {(total - 1) / span:.1f} texts/s ({(total - 1) / span / rate:.1%} of the limit), "
          f"at most {peak} in any one-second window (counted on arrival at the fake)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--limited", type=int, default=1_500)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    base = os.environ.get("DUEDESK_TEST_POSTGRES_URL")
    if not base:
        import django

        django.setup()
        unlimited(args.texts)
        print("rate limit on PostgreSQL: skipped (set DUEDESK_TEST_POSTGRES_URL to run it)")
        return
    import psycopg

    scratch = f"duedesk_bench_{os.getpid()}"
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(f'CREATE DATABASE "{scratch}"')
    db_url = base.rsplit("/", 1)[0] + "/" + scratch
    os.environ["DUEDESK_DATABASE_URL"] = db_url
    try:
        import django

        django.setup()
        unlimited(args.texts)
        limited(db_url, args.limited, args.rate, args.workers)
    finally:
        from django.db import connections

        connections.close_all()
        admin.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
        admin.close()

if __name__ == "__main__":
    main()
