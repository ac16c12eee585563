"""The billing office's records: organizations, contacts, invoices, promises, handoffs, messages, calls
and the timeline (Event). Every row belongs to one organization; every query is scoped by it."""

from datetime import time
from decimal import Decimal
from functools import lru_cache

from django.conf import settings
from django.db import models
from django.db.models.functions import Upper

from duedesk.core import vocabulary
from duedesk.core.phones import contact_timezone
from duedesk.core.timing import SendWindow, parse_dates, public_holidays
from duedesk.records.fields import EncryptedDateField, EncryptedJSONField, EncryptedTextField, FoldedTextField
from duedesk.records.instances import QuickLoad


@lru_cache(maxsize=256)
def _send_window(start: time, end: time, days: str) -> SendWindow:
    # Asked for every send; the settings rarely change, the parse is the same every time.
    return SendWindow.from_config(start.strftime("%H:%M"), end.strftime("%H:%M"), days)


@lru_cache(maxsize=256)
def _days_closed(calendar: str, closed: tuple, opened: tuple, years: tuple[int, ...]):
    worked = parse_dates(opened, "open_dates")
    return (public_holidays(calendar, years) - worked, parse_dates(closed, "closed_dates") - worked)


class Organization(QuickLoad, models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="America/New_York")
    window_start = models.TimeField(default=time(9, 0))
    window_end = models.TimeField(default=time(19, 0))
    window_days = models.CharField(max_length=40, default="mon-sat", help_text="e.g. mon-sat or mon,tue,wed")
    # Days outreach never runs, in the contact's local calendar: a country's public holidays (the
    # `holidays` package; blank: none), plus dates the office closes, less holidays it works.
    holiday_calendar = models.CharField(
        max_length=10, default="US", blank=True, help_text="Public holidays of this country (US: federal); blank: none")
    closed_dates = models.JSONField(default=list, blank=True, help_text="Extra closed days, YYYY-MM-DD")
    open_dates = models.JSONField(default=list, blank=True, help_text="Holidays the office works anyway, YYYY-MM-DD")
    business_hours_start = models.TimeField(default=time(9, 0))
    business_hours_end = models.TimeField(default=time(17, 0))
    callback_number = models.CharField(max_length=20, blank=True)
    voicemail_name = models.CharField(max_length=100, blank=True, help_text="A person's name said in voicemails")
    # Said in voicemails and the limited-content message instead of `name` when set: a name that reveals
    # neither a debt ("Acme Recovery Services") nor a specialty ("Springfield Oncology") (core/content).
    voicemail_business_name = models.CharField(
        max_length=200, blank=True,
        help_text="The business name said in voicemails (blank: the organization's name); it must reveal no "
                  "debt and no specialty")
    # Who a voicemail asks the patient to call back: the organization's Twilio number, where the assistant answers
    # (the invoice question hotline), or the office line (`callback_number`).
    VOICEMAIL_CALLBACK = [("assistant", "Our Twilio number: the assistant answers (invoice question hotline)"),
                          ("office", "The office line (callback number)")]
    voicemail_callback = models.CharField(
        max_length=10, choices=VOICEMAIL_CALLBACK, default="assistant",
        help_text="The number voicemails ask patients to call back")
    transfer_number = models.CharField(max_length=20, blank=True, help_text="Staff number for warm transfers")
    billing_email = models.EmailField(blank=True)
    slack_webhook_url = models.URLField(blank=True)
    default_currency = models.CharField(max_length=3, default="USD")
    pay_link_base = models.URLField(blank=True, help_text="Pay link prefix; the invoice reference is appended")
    workflow_slug = models.SlugField(default="payment-reminders")
    identity_check = models.CharField(
        max_length=10, default="dob", choices=[("dob", "Date of birth"), ("zip", "ZIP code"), ("name_only", "Name only")]
    )
    recording = models.BooleanField(default=False)
    # HIPAA 45 CFR 164.502(e): a provider that carries PHI needs a signed Business Associate Agreement.
    # Without it a call says nothing about the bill (the limited-content message only).
    twilio_baa_signed = models.BooleanField(
        default=False, help_text="Twilio signed a Business Associate Agreement with you: calls may say the balance")
    promise_window_days = models.PositiveIntegerField(default=30)
    # TCPA consent (FCC 07-232): a number the patient gave the clinic for this bill counts as prior express
    # consent to be called and texted about it. Off: only consent recorded explicitly (import column `consent`,
    # the API's `consent`, the staff form, a text from the number) lets automated texts and calls go.
    accept_provided_number = models.BooleanField(
        default=True, help_text="A number provided for this bill counts as consent for automated texts and calls")
    # Twilio Lookup's line type of each number (landline, mobile...), asked once per number shortly before its
    # first text or call (engine/line_types.py; billed per number). Off: no lookups; every number's type stays
    # unknown, so the landline rules (no texts, 3 automated calls in 30 days) cannot act.
    line_type_lookups = models.BooleanField(
        default=True, help_text="Look up once whether each number is a landline, before its first text or call")
    # How long attempts and the timeline are kept (`duedesk audit purge`); empty: the instance's setting.
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # Channels. Secrets never live here: the auth token comes from the environment variable named below.
    twilio_account_sid = models.CharField(max_length=64, blank=True)
    twilio_auth_token_env = models.CharField(max_length=64, blank=True, default="DUEDESK_TWILIO_AUTH_TOKEN")
    sms_from = models.CharField(max_length=20, blank=True)
    messaging_service_sid = models.CharField(max_length=64, blank=True)
    voice_caller_id = models.CharField(max_length=20, blank=True)
    sms_per_second = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("1.00"))
    max_concurrent_calls = models.PositiveIntegerField(default=5)
    email_from = models.EmailField(blank=True)
    # A provider refused our account, sender or request: the channel sends nothing until a person resumes it.
    paused_channels = models.JSONField(
        default=dict, blank=True, help_text="channel -> when and why the provider refused our account or sender")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name

    def send_window(self) -> SendWindow:
        return _send_window(self.window_start, self.window_end, self.window_days)

    def days_closed(self, year: int) -> tuple[frozenset, frozenset]:
        """(public holidays, the office's own closed days) from the year before to the year after; the
        holidays it works (`open_dates`) left out."""
        return _days_closed(self.holiday_calendar, tuple(self.closed_dates or ()), tuple(self.open_dates or ()),
                            (year - 1, year, year + 1))

    def voicemail_callback_number(self) -> str:
        """The number a voicemail gives: the one we call from (the assistant answers it), or the office line when
        the organization chose it; each falls back to the other."""
        assistant = self.voice_caller_id or self.sms_from
        if self.voicemail_callback == "office":
            return self.callback_number or assistant
        return assistant or self.callback_number

    def voicemail_business(self) -> str:
        """The business name a voicemail says."""
        return self.voicemail_business_name.strip() or self.name


class Membership(models.Model):
    ROLES = [("owner", "Owner"), ("staff", "Staff"), ("viewer", "Viewer")]
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=ROLES, default="staff")
    # The language of this person's staff pages ("": their browser's), chosen on their account page.
    language = models.CharField(max_length=5, blank=True, choices=[("en", "English"), ("es", "Español")])

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]


class Contact(QuickLoad, models.Model):
    CHANNELS = ("sms", "call", "email")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164")
    email = models.EmailField(blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    timezone = models.CharField(max_length=64, blank=True, help_text="Blank: from ZIP, else phone, else organization")
    language = models.CharField(max_length=5, default="en")
    date_of_birth = EncryptedDateField(null=True, blank=True)  # encrypted at rest (records/fields.py)
    fields = models.JSONField(default=dict, blank=True, help_text="Custom fields, as kept in the CRM")
    outreach_on = models.BooleanField(default=True)
    # Opt-outs, unreachable marks and consent are kept on the contact's lines (Line: the number and the
    # address), shared by every contact on that number; `opted_out` and `unreachable` below read them.
    last_conversation_at = models.DateTimeField(null=True, blank=True)
    # A request to stop contacting them (Regulation F 1006.6(c)): every invoice, every channel.
    legal_holds = models.JSONField(default=dict, blank=True, help_text="hold ('cease_communication') -> when and how")
    contact_hours = models.JSONField(
        default=dict, blank=True, help_text="channel -> hours asked for: not_before, not_after, avoid_work_hours")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # What the search box compares: names, email and phone without accents or case (records/search.py).
    # On PostgreSQL a trigram index (pg_trgm, GIN) serves its LIKE '%…%' (migration 0017).
    search_text = FoldedTextField(sources=("first_name", "last_name", "email", "phone"))

    class Meta:
        indexes = [
            models.Index(fields=["organization", "phone"]),
            models.Index(fields=["organization", "last_name", "first_name"]),
        ]

    def __str__(self):
        return self.full_name or self.phone or self.email

    def save(self, *args, update_fields=None, **kwargs):
        if update_fields is not None and "search_text" not in update_fields:
            sources = Contact._meta.get_field("search_text").sources
            if any(name in sources for name in update_fields):  # a name, phone or email changed: so does this
                update_fields = [*update_fields, "search_text"]
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def tz(self) -> str:
        if self.timezone:
            return self.timezone
        return contact_timezone(
            zip_code=self.zip_code or None, phone=self.phone or None, fallback=self.organization.timezone
        )

    @property
    def opted_out(self) -> dict:
        """channel ('sms', 'call', 'email', 'all') -> when, over the contact's number and address."""
        from duedesk.records.lines import merged

        return merged(self, "opted_out")

    @property
    def unreachable(self) -> dict:
        """channel -> the reason a provider gave, over the contact's number and address."""
        from duedesk.records.lines import merged

        return merged(self, "unreachable")


class Line(QuickLoad, models.Model):
    """A phone number or an email address within an organization: the person's line.

    Opt-outs, "unreachable" and consent belong to the number (or address), not to a contact row: a parent and a
    child on one phone are one line, and a STOP from either stops texts to that phone for both. The gate checks
    the line a send goes to. One model for both kinds (not two): the gate, the suppression list and the history
    ask the same questions of a number and of an address; `kind` says which and which channels apply to it.

    Lines and their history (LineChange) are never deleted with a contact: this is the suppression list by
    number, kept by `duedesk audit purge` too.
    """

    KINDS = [("phone", "Phone number"), ("email", "Email address")]
    # Which opt-out keys apply to a line of each kind ("all" stops every channel on it).
    CHANNELS = {"phone": ("sms", "call"), "email": ("email",)}
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=5, choices=KINDS)
    address = models.CharField(max_length=254, help_text="E.164 number, or the email address in lower case")
    opted_out = models.JSONField(default=dict, blank=True, help_text="channel ('sms','call','email','all') -> ISO time")
    unreachable = models.JSONField(default=dict, blank=True, help_text="channel -> reason from a permanent error")
    consent = models.JSONField(
        default=dict, blank=True,
        help_text="purpose ('billing') -> {basis, source, at, evidence} or {revoked: ISO time, source}")
    # What kind of line the number is (Twilio Lookup v2 line type intelligence: landline, mobile, fixedVoip...),
    # asked once before the first text or call to it; blank: not known (never asked, or the lookup failed and
    # is asked again a day after line_type_checked_at). A landline gets no texts and few automated calls.
    line_type = models.CharField(max_length=20, blank=True)
    line_type_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "address"], name="one_line_per_address")]

    def __str__(self):
        return self.address


class LineChange(models.Model):
    """The history of a line: every opt-out, opt-in, unreachable mark and consent given or revoked, with its
    source and evidence. Survives deleting the contact (the contact link is set to null)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="line_changes")
    line = models.ForeignKey(Line, on_delete=models.CASCADE, related_name="changes")
    contact = models.ForeignKey("Contact", on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="line_changes")
    # what: also "line_type" (a lookup's answer, with the type and carrier as evidence)
    what = models.CharField(max_length=30, help_text="opted_out, opted_in, unreachable, consent_given, consent_revoked")
    channels = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=60, blank=True, help_text="import, api, staff, sms keyword, sms reply, ...")
    actor = models.CharField(max_length=100, default="duedesk")
    evidence = EncryptedTextField(blank=True)  # what was said or written: may be health information
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "line", "at"])]
        ordering = ["at", "id"]


class Invoice(QuickLoad, models.Model):
    STATUSES = vocabulary.choices(vocabulary.INVOICE_STATUSES)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invoices")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="invoices")
    external_ref = models.CharField(max_length=100)
    amount_due = models.DecimalField(max_digits=12, decimal_places=2)
    balance = models.DecimalField(max_digits=12, decimal_places=2)
    # Paid beyond what was owed (an overpayment): kept, shown, and handed to a person to refund or apply.
    credit = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # What payments recorded on the invoice came to, less the payments undone (engine.actions.invoices): the
    # overview's "collected", summed from the invoices' tallies instead of from the timeline's payments.
    paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    due_date = models.DateField()
    status = models.CharField(max_length=12, choices=STATUSES, default="open")
    pay_link = models.URLField(blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    # An attorney represents the patient for this invoice, or it is in a bankruptcy: no automation.
    legal_holds = models.JSONField(default=dict, blank=True,
                                   help_text="hold ('attorney_represented', 'bankruptcy') -> when and how")
    # When the first text (an sms.sent event) and the first call (call.placed) for this invoice went out: set
    # in the transaction that writes that event, so the overview's funnel reads invoices, not the timeline.
    first_texted_at = models.DateTimeField(null=True, blank=True)
    first_called_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "external_ref"], name="one_invoice_per_ref")]
        indexes = [models.Index(fields=["organization", "status", "due_date"]),
                   # The search box finds an invoice by its reference in any case ("inv-1042"): iexact.
                   models.Index(Upper("external_ref"), "organization", name="invoice_ref_any_case")]

    def __str__(self):
        return self.external_ref


class InvoiceTally(models.Model):
    """The overview's figures, kept by the database as invoices change: invoices counted, and their balances
    and payments summed, by (status, due date, texted, called, handed to a person, promised).

    Triggers on the invoices, handoffs and promises (records migration 0021, records/tallies.py) add a row per
    change: the invoice's old tags with -1 (and minus its sums), its new tags with +1, so every way an invoice
    is written (the ORM, bulk_create, COPY, a cascade) is counted and concurrent writers never wait on one
    another's row. The figures are the sums per tags (some thousands of rows where the invoices number a
    hundred thousand); the overview folds the rows together when they pile up (metrics.compact_tallies).
    Not a foreign key: an organization's rows go with it, but a row added while it is deleted never blocks it.
    """

    organization = models.ForeignKey(Organization, on_delete=models.DO_NOTHING, db_constraint=False,
                                     related_name="+")
    status = models.CharField(max_length=12)
    due_date = models.DateField()
    texted = models.BooleanField()
    called = models.BooleanField()
    handed = models.BooleanField()
    promised = models.BooleanField()
    n = models.IntegerField()
    balance = models.DecimalField(max_digits=14, decimal_places=2)
    paid = models.DecimalField(max_digits=14, decimal_places=2)


class Promise(QuickLoad, models.Model):
    STATUSES = vocabulary.choices(vocabulary.PROMISE_STATUSES)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="promises")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="promises")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="promises")
    promised_date = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    channel = models.CharField(max_length=10, default="call")
    status = models.CharField(max_length=10, choices=STATUSES, default="pending")
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "status"]),
                   # The promises export, by promised date, streamed in that order.
                   models.Index(fields=["organization", "promised_date", "id"], name="promise_by_date")]


class Handoff(models.Model):
    REASONS = vocabulary.choices(vocabulary.HANDOFF_REASONS)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="handoffs")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="handoffs")
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="handoffs")
    reason = models.CharField(max_length=30)
    status = models.CharField(max_length=10, default="open", choices=vocabulary.choices(vocabulary.HANDOFF_STATUSES))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="handoffs"
    )
    # What the patient said: health information, encrypted at rest (records/fields.py).
    summary = EncryptedTextField(blank=True)
    collected = EncryptedJSONField(default=dict, blank=True)
    transcript = EncryptedJSONField(default=list, blank=True)
    resolution = models.CharField(max_length=30, blank=True)
    resolution_note = EncryptedTextField(blank=True)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "status", "created_at"]),
                   # The inbox's "all" and its export, newest first, read in that order (no sort of every handoff).
                   models.Index(fields=["organization", "created_at", "id"], name="handoff_newest")]

    def reason_label(self) -> str:
        return vocabulary.label(vocabulary.HANDOFF_REASONS, self.reason)


class Message(QuickLoad, models.Model):
    """One text or email, in or out. Written before the provider is asked (record-before-send)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    step = models.ForeignKey("engine.Step", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    channel = models.CharField(max_length=10, default="sms")
    direction = models.CharField(max_length=3, default="out", choices=[("out", "Outbound"), ("in", "Inbound")])
    to = models.CharField(max_length=254)
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    status = models.CharField(max_length=20, default="sending")
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=20, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    # The record an auditor asks for: on what basis we contacted the line, and a fingerprint of what was sent.
    consent_basis = models.CharField(max_length=30, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        # The audit of attempts (records/audit.py), oldest first, streamed in that order.
        indexes = [models.Index(fields=["organization", "created_at", "id"], condition=models.Q(direction="out"),
                                name="message_out_by_time"),
                   # The texts a webhook left for the worker (engine.actions.sends.LATER keys), asked for every
                   # tick: a small index of those rows alone, in place of a LIKE index over every message's key.
                   models.Index(fields=["status", "id"], condition=models.Q(idempotency_key__startswith="later:"),
                                name="message_later")]
        constraints = [
            # An inbound text is handled once: the provider's id for it is unique within the organization.
            models.UniqueConstraint(
                fields=["organization", "provider_id"], name="one_inbound_message_per_provider_id",
                condition=models.Q(direction="in") & ~models.Q(provider_id=""),
            ),
        ]


class Call(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="calls")
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    step = models.ForeignKey("engine.Step", on_delete=models.SET_NULL, null=True, blank=True, related_name="calls")
    to = models.CharField(max_length=20)
    sender = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=20, default="dialing")
    answered_by = models.CharField(max_length=30, blank=True)
    provider_id = models.CharField(max_length=64, blank=True, db_index=True)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    dialog_state = EncryptedJSONField(default=dict, blank=True)  # carries the transcript: encrypted at rest
    outcome = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    # The record an auditor asks for: on what basis we contacted the line, and a fingerprint of what was sent.
    consent_basis = models.CharField(max_length=30, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            # The calls to a number in the last 30 days (the gate's landline limit, engine/runner.gate_input):
            # found by number and time instead of reading every call of the organization.
            models.Index(fields=["organization", "to", "created_at"], name="call_to_recent"),
            # The audit of attempts, oldest first, streamed in that order.
            models.Index(fields=["organization", "created_at", "id"], name="call_by_time"),
        ]


class CallTurn(models.Model):
    """One turn of a call as the provider delivered it (its call id and our turn number): written in the
    transaction that acts on the turn, so a turn delivered twice changes the call once."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="call_turns")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    provider_id = models.CharField(max_length=64)
    sequence = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "provider_id", "sequence"], name="one_call_turn"),
        ]


PAYMENT_KINDS = ("payment.recorded", "payment.refunded", "payment.undone")


class Event(QuickLoad, models.Model):
    """The append-only timeline. Written in the same transaction as the change it reports."""

    # No index of its own: the indexes below all start with the organization.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="events", db_index=False)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    invoice = models.ForeignKey(Invoice, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    handoff = models.ForeignKey(Handoff, on_delete=models.SET_NULL, null=True, blank=True, related_name="events")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=10, blank=True)
    actor = models.CharField(max_length=100, default="duedesk", help_text="who or what did it")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["organization", "contact", "at"]),
            models.Index(fields=["organization", "kind", "at"]),
            # The overview's funnel: which invoices got a text or a call, per organization.
            models.Index(fields=["organization", "kind", "invoice", "at"], name="event_kind_invoice"),
            # The payments export, oldest first, streamed: read in order, never sorted whole.
            models.Index(fields=["organization", "at", "id"], condition=models.Q(kind__in=PAYMENT_KINDS),
                         name="event_payments"),
        ]
        ordering = ["at", "id"]


class Instalment(models.Model):
    """One payment of a payment plan a person agreed with the patient; the engine reminds per instalment."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="instalments")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="instalments")
    due_date = models.DateField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    status = models.CharField(
        max_length=10, default="pending", choices=vocabulary.choices(vocabulary.INSTALMENT_STATUSES)
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_date", "id"]
