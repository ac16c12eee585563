"""Latency of understanding one utterance, over the labelled corpus.

Trains the statistical fallback once (timed: it happens on the first reply the rules
call unclear), runs ``understand`` over every corpus line once to warm up (dateparser
loads its language data on first use), then a few timed rounds; prints p50/p95/p99 in
milliseconds and utterances per second. ``DUEDESK_NLU_MODEL=off`` times the rules alone.
No assertions: a figure to watch.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from duedesk.core.nlu import model, understand
from duedesk.core.nlu.dates import warm_up

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "nlu_corpus.jsonl"
ROUNDS = 5


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    cases = [(r["text"], datetime.fromisoformat(r["now"]), r["tz"], r.get("lang")) for r in rows]
    # The core reads no environment; this script stands in for settings.py, as the apps do when they load.
    model.configure(enabled=os.environ.get("DUEDESK_NLU_MODEL", "on").strip().lower() not in ("off", "0", "false", "no"))
    if model.enabled():
        t0 = time.perf_counter()
        model.get_model()
        print(f"fallback model trained in {(time.perf_counter() - t0) * 1000:.0f} ms (once per process)")
    else:
        print("fallback model off (rules alone)")
    warm_up()
    for case in cases:
        understand(*case)
    wall, cpu = [], []
    started = time.perf_counter()
    for _ in range(ROUNDS):
        for case in cases:
            t0, c0 = time.perf_counter(), time.thread_time()
            understand(*case)
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    print(f"nlu latency over {len(cases)} utterances x {ROUNDS} rounds")
    # Wall time includes waiting for a CPU on a busy machine; CPU time is the work itself.
    for name, samples in (("wall", wall), ("cpu ", cpu)):
        q = statistics.quantiles(samples, n=100)
        print(f"{name}  p50 {q[49]:.3f} ms  p95 {q[94]:.3f} ms  p99 {q[98]:.3f} ms  max {max(samples):.3f} ms")
    print(f"throughput {len(wall) / elapsed:,.0f} utterances/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
