"""Scenarios through the real engine on a virtual clock. Only time and the transports are simulated:
the actions, the worker, the gate, the understanding and the call script are the real ones."""

from __future__ import annotations

import heapq
import itertools
import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


class VirtualClock:
    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now


class Simulation:
    def __init__(self, scenario):
        from duedesk.channels import providers
        from duedesk.channels.registry import PerOrganization, simulated
        from duedesk.engine.worker import Worker

        self.scenario = scenario
        self.clock = VirtualClock(scenario.start)
        self.transports = simulated(self.clock)
        if scenario.line_types:
            from duedesk.channels.simulated import SimulatedLineTypes

            self.transports.lines = SimulatedLineTypes(scenario.line_types)
        per_org = PerOrganization(self.clock)
        per_org.fallback = self.transports
        providers.use(per_org)
        self.worker = Worker(lambda org: self.transports, clock=self.clock, worker_id="simulator",
                             after_batch=self._react)
        self._queue: list = []
        self._seq = itertools.count()
        self._seen_send = 0
        self._texted: set[str] = set()
        self._pay_scheduled: set[str] = set()
        self.by_phone = {}

    # ------------------------------------------------------------------ set-up

    def setup(self):
        from duedesk.engine import actions, definitions
        from duedesk.engine.actions.seeding import seed_contact, seed_invoice
        from duedesk.intake.checks import check_language
        from duedesk.records.models import Contact, Organization
        from duedesk.workflows import read

        s = self.scenario
        org = Organization.objects.create(
            slug=s.name, name=s.org_name, timezone=s.org_timezone, callback_number=s.callback_number,
            voicemail_name=s.voicemail_name, voicemail_business_name=s.voicemail_business_name,
            workflow_slug=s.workflow, sms_from="+12125550000",
            twilio_baa_signed=True,  # the simulated phone stands in for a voice provider under a BAA
            **s.org_settings,
        )
        definitions.save_version(org, s.workflow, read(s.workflow))
        self.org = org
        for bill in s.bills:
            p = bill.patient
            contact = Contact.objects.filter(organization=org, phone=p.phone, first_name=p.first_name,
                                             last_name=p.last_name).first()
            if contact is None:
                contact = seed_contact(
                    org, first_name=p.first_name, last_name=p.last_name, phone=p.phone,
                    language=check_language(p.language), date_of_birth=p.dob,  # "es-MX" is stored as "es"
                    zip_code=p.zip_code,
                )
                if p.consent is False:  # as the import's consent=no does
                    actions.revoke_consent(contact, self.clock(), source="import", evidence="import consent=no",
                                           actor="import")
            self.by_phone[p.phone] = (p, contact)
            invoice = seed_invoice(org, contact, external_ref=bill.ref, amount=bill.amount, due_date=bill.due,
                                   pay_link=f"https://pay.example.com/{bill.ref}")
            if s.enroll:
                actions.enroll_invoice(invoice, self.clock())
        for moment, ref, kind, data in s.events:
            self.at(moment, lambda m=moment, r=ref, k=kind, d=data: self._event(m, r, k, d))
        for moment, what, data in s.office:
            self.at(moment, lambda w=what, d=data: self._office(w, d))
        for moment, caller in s.calls_in:
            self.at(moment, lambda c=caller: self._call_in(c))
        return org

    # ------------------------------------------------------------------ the loop

    def at(self, moment: datetime, fn: Callable[[], None]):
        heapq.heappush(self._queue, (moment, next(self._seq), fn))

    def run(self):
        from django.db.models import Min

        from duedesk.engine.models import Step

        self.worker.run_until_idle()
        while True:
            next_step = Step.objects.filter(status="pending").aggregate(m=Min("run_at"))["m"]
            next_action = self._queue[0][0] if self._queue else None
            candidates = [t for t in (next_step, next_action) if t is not None]
            if not candidates:
                break
            moment = max(min(candidates), self.clock.now)
            if moment > self.scenario.end:
                break
            self.clock.now = moment
            while self._queue and self._queue[0][0] <= moment:
                _, _, fn = heapq.heappop(self._queue)
                fn()
                self._react()
            self.worker.run_until_idle()

    # ------------------------------------------------------------------ patients react

    def _react(self):
        self._answer_calls()
        self._read_texts()
        self._keep_promises()

    def _read_texts(self):
        from duedesk.channels.models import SimulatedSend

        for send in SimulatedSend.objects.filter(pk__gt=self._seen_send, channel="sms").order_by("pk"):
            self._seen_send = send.pk
            if send.to not in self.by_phone:
                continue
            patient, contact = self.by_phone[send.to]
            if patient.replies:
                body = patient.replies.pop(0)
                self.at(self.clock.now + timedelta(minutes=12), lambda c=contact, b=body: self._text_in(c, b))
            if send.to in self._texted:
                continue
            self._texted.add(send.to)
            if patient.reply_to_first_text:
                body = patient.reply_to_first_text
                self.at(self.clock.now + timedelta(minutes=12), lambda c=contact, b=body: self._text_in(c, b))
            if patient.pays_after_text:
                self.at(self.clock.now + patient.pays_after_text, lambda c=contact: self._pay(c, "pay link"))

    def _event(self, moment, ref, kind, data):
        """What the payment processor reports: a failure starts its workflow, a success is a payment."""
        from duedesk.engine import actions
        from duedesk.records.models import Invoice

        invoice = Invoice.objects.get(organization=self.org, external_ref=ref)
        if kind == "payment.succeeded":
            if invoice.balance > 0:
                actions.record_payment(invoice, invoice.balance, self.clock(), actor="processor",
                                       source="card retry succeeded")
            return
        actions.start_on_event(invoice, kind, moment, self.clock(), data=data, source="processor")

    def _office(self, what, data):
        """What a person in the billing office does: edit the workflow, change a setting, write a note."""
        from duedesk.core.workflow import WorkflowError
        from duedesk.engine import actions, definitions
        from duedesk.inbox.actions import add_note, send_staff_text
        from duedesk.records.models import Invoice, Organization

        if what == "save_workflow":
            try:
                definitions.save_version(self.org, self.scenario.workflow, data["source"], now=self.clock())
            except WorkflowError:
                pass  # refused: the timeline says why (workflow.refused)
        elif what == "settings":
            Organization.objects.filter(pk=self.org.pk).update(**data)
            self.org.refresh_from_db()
        elif what == "note":
            invoice = Invoice.objects.get(organization=self.org, external_ref=data["invoice"])
            add_note(invoice.contact, data["text"], self.clock(), actor="office", invoice=invoice)
        elif what == "outreach_off":
            actions.set_outreach(self.by_phone[data["phone"]][1], False, self.clock(), actor="office")
        elif what == "unreachable":
            actions.mark_unreachable(self.by_phone[data["phone"]][1], data["channel"], "not_mobile", self.clock(),
                                     code=data["code"])
        elif what == "pause":
            invoice = Invoice.objects.get(organization=self.org, external_ref=data["invoice"])
            actions.pause_invoice(invoice, self.clock() + timedelta(days=data["days"]), self.clock(),
                                  actor="office", reason="the patient asked for a few days")
        elif what == "status":
            invoice = Invoice.objects.get(organization=self.org, external_ref=data["invoice"])
            actions.set_invoice_status(invoice, data["status"], self.clock(), actor="office")
        elif what == "text":
            invoice = Invoice.objects.select_related("contact").get(organization=self.org,
                                                                    external_ref=data["invoice"])
            send_staff_text(invoice.contact, invoice, "A reminder about your balance.", self.clock(),
                            actor="office", transports=self.transports)

    def _text_in(self, contact, body):
        from duedesk.conversations.texts import receive_text

        receive_text(self.org, contact.phone, self.org.sms_from, body, self.clock(), self.transports)

    def _call_in(self, patient):
        """The patient calls the organization's number: the hotline's webhook path, minus the HTTP."""
        from duedesk.conversations import hotline

        now = self.clock()
        sid = f"CA{len(patient.said):04d}{patient.phone[1:]:0>28}"  # the provider's call id, the same every run
        call, turn = hotline.incoming(self.org, patient.phone, self.org.voice_caller_id, sid, now)
        for n in range(1, 21):
            if not turn.listen:
                break
            line = patient.next_line(turn.say)
            patient.said.append(line)
            turn = hotline.heard(call.pk, line, now, turn_key=f"{sid}:{n}")
        hotline.ended(call.pk, "completed", now, duration=120)
        call = type(call).objects.select_related("contact").get(pk=call.pk)
        if call.outcome == "paid" and patient.pays_after_call:
            self.at(now + patient.pays_after_call, lambda c=call.contact: self._pay(c, "pay link"))

    def _pay(self, contact, source):
        from duedesk.engine import actions
        from duedesk.records.models import Invoice

        for invoice in Invoice.objects.filter(contact=contact, balance__gt=0).exclude(
                status__in=("paid", "written_off")):
            actions.record_payment(invoice, invoice.balance, self.clock(), actor="patient", source=source)

    def _keep_promises(self):
        from duedesk.records.models import Promise

        for promise in Promise.objects.filter(organization=self.org, status="pending").select_related("contact"):
            key = f"{promise.pk}"
            patient, contact = self.by_phone.get(promise.contact.phone, (None, None))
            if key in self._pay_scheduled or patient is None or not patient.pays_on_promise:
                continue
            self._pay_scheduled.add(key)
            tz = ZoneInfo(contact.tz())
            moment = datetime.combine(promise.promised_date, time(12, 30), tzinfo=tz).astimezone(ZoneInfo("UTC"))
            self.at(max(moment, self.clock.now), lambda c=contact: self._pay(c, "promised payment"))

    def _answer_calls(self):
        from duedesk.conversations import calls as conversation
        from duedesk.records.models import Call

        for call_id in self.transports.voice.take_placed():
            call = Call.objects.select_related("contact").get(pk=call_id)
            now = self.clock()
            if call.contact.phone not in self.by_phone:  # nobody scripted: nobody picks up
                conversation.ended(call_id, "no-answer", now)
                continue
            patient, contact = self.by_phone[call.contact.phone]
            if patient.machine:
                conversation.voicemail(call_id, now)
                conversation.ended(call_id, "completed", now, duration=25)
                continue
            if not patient.answers_calls:
                conversation.ended(call_id, "no-answer", now)
                continue
            turn = conversation.answered(call_id, now)
            for _ in range(20):
                if not turn.listen:
                    break
                line = patient.next_line(turn.say)
                patient.said.append(line)
                turn = conversation.heard(call_id, line, now)
            conversation.ended(call_id, "completed", now, duration=90)
            outcome = Call.objects.get(pk=call_id).outcome
            if outcome == "paid" and patient.pays_after_call:
                self.at(now + patient.pays_after_call, lambda c=contact: self._pay(c, "pay link"))

    # ------------------------------------------------------------------ output

    def events(self) -> list[dict]:
        from duedesk.records.models import Event

        out = []
        for e in Event.objects.filter(organization=self.org).select_related("contact", "invoice").order_by("at", "pk"):
            tz = ZoneInfo(e.contact.tz() if e.contact else self.org.timezone)
            out.append({
                "at": e.at.astimezone(tz).isoformat(),
                "contact": e.contact.full_name if e.contact else "",
                "invoice": e.invoice.external_ref if e.invoice else "",
                "kind": e.kind,
                "channel": e.channel or None,
                "detail": e.detail,
            })
        return out


def simulate(name: str) -> list[dict]:
    """Run a scenario on the current database (tests use their own)."""
    from duedesk.simulate.scenarios import SCENARIOS

    if name not in SCENARIOS:
        raise SystemExit(f"unknown scenario '{name}': choose one of {', '.join(SCENARIOS)}")
    sim = Simulation(SCENARIOS[name]())
    sim.setup()
    sim.run()
    return sim.events()


def format_timeline(events: list[dict]) -> str:
    lines = []
    for e in events:
        what = _describe(e)
        who = f"{e['contact']} {e['invoice']}".strip()
        lines.append(f"{e['at'][:16].replace('T', ' ')}  {who:<28} {e['kind']:<20} {what}")
    return "\n".join(lines)


def _describe(e: dict) -> str:
    d = e["detail"]
    if e["kind"] in ("sms.sent", "sms.received"):
        return f"“{d.get('body', '')}”"
    if e["kind"] == "call.completed":
        turns = d.get("transcript") or []
        said = " / ".join(f"{t['speaker'][0].upper()}: {t['text']}" for t in turns)
        return f"{d.get('outcome')}  {said}"
    keys = ("intent", "rule", "reason", "date", "amount", "outcome", "until", "next_attempt", "step", "text")
    return ", ".join(f"{k}={d[k]}" for k in keys if k in d)


def run_scenario(name: str, as_json: bool = False) -> str:
    """The command: a throwaway SQLite database, then the scenario."""
    tmp = tempfile.mkdtemp(prefix="duedesk-sim-")
    os.environ["DUEDESK_DATABASE_URL"] = f"sqlite:///{tmp}/simulation.sqlite3"
    os.environ["DUEDESK_DATA_DIR"] = tmp
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
    os.environ.setdefault("DUEDESK_EMAIL_BACKEND", "django.core.mail.backends.locmem.EmailBackend")
    import django
    from django.apps import apps
    from django.core.management import call_command
    from django.test.utils import override_settings

    django.setup()
    # A throwaway database gets its tables straight from the models, as a test database made without
    # migrations does: a second instead of replaying every migration. tests/test_migrations.py keeps the
    # migrations in step with the models.
    with override_settings(MIGRATION_MODULES={app.label: None for app in apps.get_app_configs()}):
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    events = simulate(name)
    if as_json:
        return json.dumps(events, ensure_ascii=False, indent=1)
    return format_timeline(events)
