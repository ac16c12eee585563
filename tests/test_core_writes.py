"""Views, webhooks, the worker, the importer and the simulator write no core model directly: enrollments,
invoices, promises, instalments, contacts, handoffs, messages and calls, steps and events change only through
the verbs in engine/actions (which write their Event in the same transaction).

The scan reads the source (ast) of every module outside engine/, records/ and migrations, and names each
`.save()`, `.delete()`, `.create()`, `.update()`, `.bulk_create()`, `.bulk_update()`, `.get_or_create()` and
`.update_or_create()` on a core model's manager (`Invoice.objects…`), on a related manager
(`invoice.instalments…`) or, for save/delete, on a variable named after a core noun (`contact.save()`).
Models an integration owns (CRM outbox items and links, webhook deliveries, Stripe links...) are their own
state and are not core. Nothing is left on the allow-list below.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "duedesk"
OWNERS = ("engine", "records", "migrations")  # where core rows are written

CORE = {"Enrollment", "Invoice", "Promise", "Instalment", "Contact", "Handoff", "Message", "Call", "Step", "Event"}
NOUNS = {"enrollment", "invoice", "promise", "instalment", "contact", "handoff", "message", "msg", "call", "step",
         "event", "record"}
RELATED = {"enrollments", "invoices", "promises", "instalments", "contacts", "handoffs", "messages", "calls", "steps",
           "events"}
WRITES = {"save", "delete", "create", "update", "bulk_create", "bulk_update", "get_or_create", "update_or_create"}

KNOWN: Counter = Counter()  # every direct write has moved into a verb; keep it empty


def _receiver(call: ast.Call) -> list[str]:
    """The names the call's receiver is made of, innermost last: `Invoice.objects.filter(...).update` ->
    ['filter', 'objects', 'Invoice']."""
    names, node = [], call.func.value
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Subscript):
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names
        else:
            return names


def core_writes(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES):
            continue
        names, method = _receiver(node), node.func.attr
        if "objects" in names:
            if names[-1] in CORE:
                found.append(f"{names[-1]}.{method}")
        elif RELATED & set(names):
            found.append(f"{'.'.join(reversed(names))}.{method}")
        elif method in ("save", "delete") and names and names[0].lower() in NOUNS:
            found.append(f"{names[0]}.{method}")
    return found


def scan() -> Counter:
    counts: Counter = Counter()
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[0] in OWNERS or "migrations" in rel.parts:
            continue
        for write in core_writes(path.read_text(encoding="utf-8")):
            counts[(rel.as_posix(), write)] += 1
    return counts


def test_only_engine_actions_write_core_models():
    counts = scan()
    new = {k: n - KNOWN[k] for k, n in counts.items() if n > KNOWN[k]}
    assert not new, ("core models written outside engine/actions (add a verb there and call it): "
                     + ", ".join(f"{path}: {write} x{n}" for (path, write), n in sorted(new.items())))
    gone = sorted(k for k, n in KNOWN.items() if counts[k] < n)
    assert not gone, f"moved into verbs (good): take them off KNOWN: {gone}"


def test_the_scan_names_each_kind_of_direct_write():
    source = """
Invoice.objects.filter(pk=1).update(status="paid")
Contact.objects.create(first_name="Ana")
invoice.instalments.filter(status="pending").delete()
handoff.save(update_fields=["status"])
Step.objects.bulk_create(rows)
OutboxItem.objects.create(event=e)   # an integration's own model
report.save()                        # not a core noun
"""
    assert core_writes(source) == ["Invoice.update", "Contact.create", "invoice.instalments.filter.delete",
                                   "handoff.save", "Step.bulk_create"]
