"""Lines: opt-outs, unreachable marks and consent move from each contact row to the number (and the address)
they belong to, with a history row for each; then the contact's own columns go. A channel a contact had
`consent: false` for becomes an opt-out of that line."""

from datetime import datetime

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

import duedesk.records.fields

PHONE_CHANNELS = ("sms", "call")


def _targets(contact, channel):
    """(kind, address) of the lines a contact's channel key applies to ("all": every line)."""
    found = []
    if contact.phone and (channel == "all" or channel in PHONE_CHANNELS):
        found.append(("phone", contact.phone))
    if contact.email and channel in ("all", "email"):
        found.append(("email", contact.email.strip().lower()))
    return found


def copy_to_lines(apps, schema_editor):
    Contact = apps.get_model("records", "Contact")
    Line = apps.get_model("records", "Line")
    LineChange = apps.get_model("records", "LineChange")
    now = timezone.now()
    contacts = Contact.objects.only("id", "organization_id", "phone", "email", "opted_out", "unreachable", "consent")
    for contact in contacts.order_by("pk").iterator():
        opted = dict(contact.opted_out or {})
        for channel, ok in (contact.consent or {}).items():
            if ok is False:
                opted.setdefault(channel, now.isoformat())
        changes = [("opted_out", ch, when) for ch, when in opted.items()]
        changes += [("unreachable", ch, reason) for ch, reason in (contact.unreachable or {}).items()]
        for what, channel, value in changes:
            for kind, address in _targets(contact, channel):
                line, _ = Line.objects.get_or_create(organization_id=contact.organization_id, kind=kind,
                                                     address=address)
                getattr(line, what).setdefault(channel, value)
                line.save(update_fields=[what])
                at = now
                if what == "opted_out":
                    try:
                        at = datetime.fromisoformat(value)
                    except (TypeError, ValueError):
                        at = now
                LineChange.objects.create(organization_id=contact.organization_id, line=line, contact=contact,
                                          what=what, channels=[channel], source="before lines", actor="duedesk",
                                          evidence="" if what == "opted_out" else str(value), at=at)


def copy_to_contacts(apps, schema_editor):
    Contact = apps.get_model("records", "Contact")
    Line = apps.get_model("records", "Line")
    for line in Line.objects.exclude(opted_out={}, unreachable={}).iterator():
        field = "phone" if line.kind == "phone" else "email__iexact"
        for contact in Contact.objects.filter(organization_id=line.organization_id, **{field: line.address}):
            contact.opted_out.update(line.opted_out)
            contact.unreachable.update(line.unreachable)
            contact.save(update_fields=["opted_out", "unreachable"])


class Migration(migrations.Migration):

    dependencies = [
        ('records', '0008_encrypt_health_information'),
    ]

    operations = [
        migrations.AddField(
            model_name='call',
            name='consent_basis',
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name='call',
            name='content_sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='message',
            name='consent_basis',
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name='message',
            name='content_sha256',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='organization',
            name='accept_provided_number',
            field=models.BooleanField(default=True, help_text='A number provided for this bill counts as consent for automated texts and calls'),
        ),
        migrations.AddField(
            model_name='organization',
            name='retention_days',
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='Line',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('phone', 'Phone number'), ('email', 'Email address')], max_length=5)),
                ('address', models.CharField(help_text='E.164 number, or the email address in lower case', max_length=254)),
                ('opted_out', models.JSONField(blank=True, default=dict, help_text="channel ('sms','call','email','all') -> ISO time")),
                ('unreachable', models.JSONField(blank=True, default=dict, help_text='channel -> reason from a permanent error')),
                ('consent', models.JSONField(blank=True, default=dict, help_text="purpose ('billing') -> {basis, source, at, evidence} or {revoked: ISO time, source}")),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='records.organization')),
            ],
        ),
        migrations.CreateModel(
            name='LineChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('what', models.CharField(help_text='opted_out, opted_in, unreachable, consent_given, consent_revoked', max_length=30)),
                ('channels', models.JSONField(blank=True, default=list)),
                ('source', models.CharField(blank=True, help_text='import, api, staff, sms keyword, sms reply, ...', max_length=60)),
                ('actor', models.CharField(default='duedesk', max_length=100)),
                ('evidence', duedesk.records.fields.EncryptedTextField(blank=True)),
                ('at', models.DateTimeField()),
                ('contact', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='line_changes', to='records.contact')),
                ('line', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='changes', to='records.line')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='line_changes', to='records.organization')),
            ],
            options={
                'ordering': ['at', 'id'],
            },
        ),
        migrations.AddConstraint(
            model_name='line',
            constraint=models.UniqueConstraint(fields=('organization', 'kind', 'address'), name='one_line_per_address'),
        ),
        migrations.AddIndex(
            model_name='linechange',
            index=models.Index(fields=['organization', 'line', 'at'], name='records_lin_organiz_576b59_idx'),
        ),
        migrations.RunPython(copy_to_lines, copy_to_contacts),
        migrations.RemoveField(
            model_name='contact',
            name='consent',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='opted_out',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='unreachable',
        ),
    ]
