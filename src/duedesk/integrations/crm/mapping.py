"""A connection's field mapping: which CRM property holds each of our fields."""

from __future__ import annotations

from duedesk.integrations.crm.models import FIELDS, Connection, FieldMapping

KNOWN = dict(FIELDS)


def mapping_for(conn: Connection) -> dict[str, str]:
    return dict(FieldMapping.objects.filter(connection=conn).values_list("field", "crm_property"))


def set_mapping(conn: Connection, values: dict[str, str]) -> None:
    """Replace the given fields' properties ('' removes one). Unknown fields are named in the error."""
    for name in values:
        if name not in KNOWN:
            raise ValueError(f"{name}: not a field duedesk maps (one of {', '.join(KNOWN)})")
    for name, prop in values.items():
        prop = (prop or "").strip()
        if prop:
            FieldMapping.objects.update_or_create(connection=conn, field=name, defaults={"crm_property": prop})
        else:
            FieldMapping.objects.filter(connection=conn, field=name).delete()
