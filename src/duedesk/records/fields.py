"""Fields whose contents are health information, encrypted at rest with the keys in settings.FIELD_KEYS.

cryptography's MultiFernet: the first key encrypts, every key decrypts, so a new key can be put first and
the rows re-encrypted (`duedesk rotate-keys`) before the old key is dropped. The column holds the Fernet
token (text); the application reads and writes plain values. Nothing can be searched or ordered by these
columns, which is the point.
"""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models

TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 and a timestamp)


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured("DUEDESK_FIELD_KEYS: each key must be a Fernet key (32 url-safe base64 bytes)"
                                   ) from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_KEYS))


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("a health-information field cannot be read with DUEDESK_FIELD_KEYS "
                                   "(was the key that wrote it removed?)") from exc


def rotate(token: str) -> str:
    """The same value under the first key (MultiFernet.rotate)."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text, stored as a Fernet token; "" stays "" (there is nothing to hide in nothing)."""

    encrypted = True

    def to_plain(self, value):  # the stored text -> the Python value
        return value

    def from_plain(self, value) -> str:  # the Python value -> the text that is encrypted
        return str(value)

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return self.empty_value()
        return self.to_plain(decrypt(value))

    def empty_value(self):
        return "" if not self.null else None

    def get_prep_value(self, value):
        if value is None or value == "":
            return value
        return encrypt(self.from_plain(value))


class EncryptedDateField(EncryptedTextField):
    """A date (the date of birth), stored encrypted; forms and the admin see a date field."""

    def to_plain(self, value):
        return date.fromisoformat(value)

    def from_plain(self, value) -> str:
        return self.to_python(value).isoformat()

    def empty_value(self):
        return None

    def to_python(self, value):
        if value is None or value == "" or isinstance(value, date):
            return value or None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError("Enter a valid date (YYYY-MM-DD).", code="invalid") from None

    def formfield(self, **kwargs):
        return forms.DateField(required=not self.blank, label=self.verbose_name.capitalize(), **kwargs)


class EncryptedJSONField(EncryptedTextField):
    """JSON (a transcript, a call's state), stored encrypted."""

    def to_plain(self, value):
        return json.loads(value)

    def from_plain(self, value) -> str:
        return json.dumps(value, default=str)

    def empty_value(self):
        return self.get_default()

    def get_prep_value(self, value):
        if value is None:
            return None if self.null else encrypt(self.from_plain(self.get_default()))
        return encrypt(self.from_plain(value))

    def formfield(self, **kwargs):
        return forms.JSONField(required=not self.blank, **kwargs)


def seal_columns(connection, columns: list[tuple[str, str]], *, rotate_tokens: bool) -> int:
    """Encrypt every plain value in these (table, column)s; with ``rotate_tokens`` re-encrypt tokens under the
    first key too. Raw SQL, row by row by primary key, so it works from a migration and on any database."""
    changed = 0
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(f"SELECT id, {qn(column)} FROM {qn(table)} WHERE {qn(column)} IS NOT NULL "
                           f"AND {qn(column)} <> ''")
            for pk, value in cursor.fetchall():
                if value.startswith(TOKEN_PREFIX):
                    if not rotate_tokens:
                        continue
                    new = rotate(value)
                else:
                    new = encrypt(value)
                cursor.execute(f"UPDATE {qn(table)} SET {qn(column)} = %s WHERE id = %s", [new, pk])
                changed += 1
    return changed


def encrypted_columns() -> list[tuple[str, str]]:
    """Every (table, column) an encrypted field of an installed model keeps."""
    from django.apps import apps

    return [(m._meta.db_table, f.column) for m in apps.get_models() for f in m._meta.concrete_fields
            if getattr(f, "encrypted", False)]


class FoldedTextField(models.TextField):
    """Other columns of the row, joined by spaces and folded (core.folding: no accents, lower case), kept for
    searching: `Contact.search_text` is 'lucia munoz lucia@example.com +15551234567' for Lucía Muñoz.

    Set whenever the row is written through the ORM: `pre_save` runs on save() and bulk_create(); the model's
    save() adds the column to update_fields when one of its sources is in them (Contact.save); the COPY path
    asks `folded(values)` (records/rows.CopyTable). Never edited by a person."""

    def __init__(self, *args, sources: tuple[str, ...] = (), **kwargs):
        self.sources = tuple(sources)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("blank", True)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["sources"] = self.sources
        for key, value in (("editable", False), ("blank", True), ("default", "")):
            if kwargs.get(key, value) == value:
                kwargs.pop(key, None)
        return name, path, args, kwargs

    def folded(self, values: dict) -> str:
        from duedesk.core.folding import fold

        return fold(" ".join(str(values.get(name) or "") for name in self.sources))

    def pre_save(self, model_instance, add):
        value = self.folded({name: getattr(model_instance, name) for name in self.sources})
        setattr(model_instance, self.attname, value)
        return value
