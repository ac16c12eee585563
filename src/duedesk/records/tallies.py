"""The triggers that keep records_invoicetally (models.InvoiceTally) in step with the invoices, for PostgreSQL and
SQLite. Records migration 0021 creates them; a later migration that changes them writes its own copy.

An invoice counts under its tags: organization, status, due date, texted (first_texted_at set), called
(first_called_at set), handed (a handoff names it) and promised (a promise names it). Each change adds rows:
the old tags with n -1 and minus the old balance and paid, the new tags with +1 and the new sums.

- Invoices (PostgreSQL): statement triggers with transition tables, so an UPDATE of many invoices or a
  COPY of a hundred thousand adds one row per tags, netted; an update that changes no tag or sum adds none.
- Invoices (SQLite): row triggers; an update fires only when a tag or sum changed.
- Handoffs and promises: row triggers. The first handoff (promise) naming an invoice moves it from
  handed (promised) false to true; the last one leaving it moves it back. On PostgreSQL the invoice row is
  locked first (FOR NO KEY UPDATE: as an UPDATE of the invoice locks it, so rows that merely point at the
  invoice, which hold a key-share lock, are not waited for), so a concurrent change of the invoice or of its
  other handoffs is counted after this one, with what this one left (READ COMMITTED reads afresh at each
  statement of the function). Records migration 0022 replaced 0021's FOR UPDATE with it.
"""

from __future__ import annotations

COLUMNS = "organization_id, status, due_date, texted, called, handed, promised, n, balance, paid"
LINKED = {"handed": "records_handoff", "promised": "records_promise"}


def _exists(flag: str, invoice: str) -> str:
    return f"EXISTS (SELECT 1 FROM {LINKED[flag]} x WHERE x.invoice_id = {invoice})"


def _tags(r: str, sign: str, handed: str | None = None, promised: str | None = None) -> str:
    """The SELECT list of invoice `r`'s tags and sums with `sign`; handed / promised given, else read."""
    return (f"{r}.organization_id, {r}.status, {r}.due_date, {r}.first_texted_at IS NOT NULL, "
            f"{r}.first_called_at IS NOT NULL, {handed or _exists('handed', f'{r}.id')}, "
            f"{promised or _exists('promised', f'{r}.id')}, {sign}1, {sign}{r}.balance, {sign}{r}.paid")


def _move(flag: str, invoice: str, before: str, after: str, when: str) -> str:
    """One statement: invoice `invoice` leaves its tags with `flag` = before for the same with `flag` = after,
    if `when` holds."""
    rows = []
    for sign, value in (("-", before), ("", after)):
        given = {flag: value}
        rows.append(f"SELECT {_tags('r', sign, **given)} FROM records_invoice r WHERE r.id = {invoice} AND {when}")
    return f"INSERT INTO records_invoicetally ({COLUMNS}) " + " UNION ALL ".join(rows)


def _linked_moves(flag: str, true: str, false: str) -> tuple[str, str]:
    """(when a row leaves OLD.invoice_id, when a row joins NEW.invoice_id): the statements for `flag`."""
    table = LINKED[flag]
    left = _move(flag, "OLD.invoice_id", true, false,
                 f"NOT EXISTS (SELECT 1 FROM {table} y WHERE y.invoice_id = OLD.invoice_id)")
    joined = _move(flag, "NEW.invoice_id", false, true,
                   f"NOT EXISTS (SELECT 1 FROM {table} y WHERE y.invoice_id = NEW.invoice_id AND y.id <> NEW.id)")
    return left, joined


def postgresql() -> tuple[list[str], list[str]]:
    """(statements that create the triggers, statements that drop them)."""
    create, drop = [], []
    net = (f"INSERT INTO records_invoicetally ({COLUMNS}) SELECT organization_id, status, due_date, texted, called, "
           "handed, promised, sum(n), sum(balance), sum(paid) FROM ({rows}) d(" + COLUMNS + ") "
           "GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0 OR sum(balance) <> 0 OR sum(paid) <> 0")
    old, new = f"SELECT {_tags('o', '-')} FROM old_rows o", f"SELECT {_tags('r', '')} FROM new_rows r"
    for op, rows, referencing in (("insert", new, "NEW TABLE AS new_rows"),
                                  ("update", f"{old} UNION ALL {new}", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
                                  ("delete", old, "OLD TABLE AS old_rows")):
        name = f"records_invoice_tally_{op}"
        create += [f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                   f"{net.format(rows=rows)}; RETURN NULL; END $$",
                   f"CREATE TRIGGER {name} AFTER {op.upper()} ON records_invoice REFERENCING {referencing} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"]
        drop += [f"DROP TRIGGER IF EXISTS {name} ON records_invoice", f"DROP FUNCTION IF EXISTS {name}()"]
    for flag, table in LINKED.items():
        left, joined = _linked_moves(flag, "true", "false")
        name = f"{table}_tally"
        create += [
            f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF TG_OP = 'UPDATE' AND OLD.invoice_id IS NOT DISTINCT FROM NEW.invoice_id THEN RETURN NULL; END IF; "
            "IF TG_OP <> 'INSERT' AND OLD.invoice_id IS NOT NULL THEN "
            "PERFORM 1 FROM records_invoice WHERE id = OLD.invoice_id FOR NO KEY UPDATE; "
            f"{left}; END IF; "
            "IF TG_OP <> 'DELETE' AND NEW.invoice_id IS NOT NULL THEN "
            "PERFORM 1 FROM records_invoice WHERE id = NEW.invoice_id FOR NO KEY UPDATE; "
            f"{joined}; END IF; "
            "RETURN NULL; END $$",
            f"CREATE TRIGGER {name} AFTER INSERT OR DELETE OR UPDATE OF invoice_id ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"]
        drop += [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    return create, drop


def sqlite() -> tuple[list[str], list[str]]:
    """(statements that create the triggers, statements that drop them)."""
    insert = f"INSERT INTO records_invoicetally ({COLUMNS}) SELECT "
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in ("organization_id", "status", "due_date", "balance", "paid"))
    changed += " OR " + " OR ".join(f"(OLD.{c} IS NULL) IS NOT (NEW.{c} IS NULL)"
                                    for c in ("first_texted_at", "first_called_at"))
    create = [
        f"CREATE TRIGGER records_invoice_tally_insert AFTER INSERT ON records_invoice BEGIN "
        f"{insert}{_tags('NEW', '')}; END",
        f"CREATE TRIGGER records_invoice_tally_update AFTER UPDATE ON records_invoice WHEN {changed} BEGIN "
        f"{insert}{_tags('OLD', '-')}; {insert}{_tags('NEW', '')}; END",
        f"CREATE TRIGGER records_invoice_tally_delete AFTER DELETE ON records_invoice BEGIN "
        f"{insert}{_tags('OLD', '-')}; END",
    ]
    drop = [f"DROP TRIGGER IF EXISTS records_invoice_tally_{op}" for op in ("insert", "update", "delete")]
    for flag, table in LINKED.items():
        left, joined = _linked_moves(flag, "1", "0")
        create += [
            f"CREATE TRIGGER {table}_tally_insert AFTER INSERT ON {table} WHEN NEW.invoice_id IS NOT NULL BEGIN "
            f"{joined}; END",
            f"CREATE TRIGGER {table}_tally_delete AFTER DELETE ON {table} WHEN OLD.invoice_id IS NOT NULL BEGIN "
            f"{left}; END",
            f"CREATE TRIGGER {table}_tally_update AFTER UPDATE OF invoice_id ON {table} "
            f"WHEN OLD.invoice_id IS NOT NEW.invoice_id BEGIN {left}; {joined}; END",
        ]
        drop += [f"DROP TRIGGER IF EXISTS {table}_tally_{op}" for op in ("insert", "delete", "update")]
    return create, drop


def backfill() -> str:
    """Every invoice counted once under its present tags (either database)."""
    return (f"INSERT INTO records_invoicetally ({COLUMNS}) SELECT r.organization_id, r.status, r.due_date, "
            f"r.first_texted_at IS NOT NULL, r.first_called_at IS NOT NULL, {_exists('handed', 'r.id')}, "
            f"{_exists('promised', 'r.id')}, count(*), sum(r.balance), sum(r.paid) FROM records_invoice r "
            "GROUP BY 1, 2, 3, 4, 5, 6, 7")
