"""Email over SMTP against a small SMTP server on 127.0.0.1: plain + HTML, record-before-send, errors."""

from __future__ import annotations

import email
import smtplib
import socketserver
import threading
from datetime import date
from email import policy

import pytest

from duedesk.channels.base import Outgoing
from duedesk.channels.errors import TransportError
from duedesk.channels.registry import Transports
from duedesk.engine.models import Enrollment, Step, Workflow
from duedesk.engine.worker import Worker
from duedesk.integrations.smtp.transport import SmtpEmail, message_id
from duedesk.integrations.twilio import transport as twilio
from duedesk.records.models import Event, Message
from tests.loopback import PATIENCE, refused_port, wait_until

EMAIL_WORKFLOW = """
name: Email reminder
steps:
  - id: mail
    email: mail
    at: due_date - 3d
templates:
  mail:
    en: |
      Hello {{ contact.first_name }},

      Your balance of {{ invoice.amount }} is due on {{ invoice.due_date }}. Pay here: {{ invoice.pay_link }}
    subject:
      en: "{{ org.name }}: your balance"
"""


class SmtpServer:
    """Enough SMTP for our client: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT, with scripted faults."""

    def __init__(self):
        self.received: list[dict] = []
        self.faults: dict[str, str] = {}  # command -> reply line, or "drop" to close the connection
        self.closing = threading.Event()
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                self.reply("220 localhost test SMTP")
                envelope = {"from": None, "to": []}
                while True:
                    raw = self.rfile.readline()
                    if not raw:
                        return
                    line = raw.decode().rstrip("\r\n")
                    verb = line.split(" ", 1)[0].upper().split(":", 1)[0]
                    fault = server.faults.get(verb)
                    if fault == "drop":
                        return
                    if fault and verb != "DATA":
                        self.reply(fault)
                        continue
                    if verb in ("EHLO", "HELO"):
                        self.reply("250-localhost" if verb == "EHLO" else "250 localhost")
                        if verb == "EHLO":
                            self.reply("250 8BITMIME")
                    elif verb == "MAIL":
                        envelope["from"] = line.split(":", 1)[1].strip().split()[0].strip("<>")
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        envelope["to"].append(line.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        body = []
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b""):
                                break
                            body.append(chunk[1:] if chunk.startswith(b"..") else chunk)
                        if fault == "drop-after-data":
                            server.received.append({**envelope, "data": b"".join(body)})
                            return
                        if fault == "hang-after-data":  # took it, never says so: the client times out
                            server.received.append({**envelope, "data": b"".join(body)})
                            server.closing.wait(PATIENCE)
                            return
                        if fault:
                            self.reply(fault)
                            continue
                        server.received.append({**envelope, "data": b"".join(body)})
                        self.reply("250 OK queued")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("250 OK")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()

    def messages(self):
        return [email.message_from_bytes(r["data"], policy=policy.default) for r in self.received]


@pytest.fixture
def impatient_after_the_message(monkeypatch):
    """The client gives up 0.3 s after the message's final dot went out, and not before: every earlier
    answer is waited for as long as a busy machine needs, so only the wait for the server's verdict times out."""
    send = smtplib.SMTP.send

    def sent(self, data):
        send(self, data)
        if isinstance(data, bytes) and data.endswith(b"\r\n.\r\n"):
            self.sock.settimeout(0.3)

    monkeypatch.setattr(smtplib.SMTP, "send", sent)


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    yield server
    server.close()


def outgoing(**kw):
    values = dict(channel="email", to="maria@example.com", body="Your balance is $120.00.",
                  idempotency_key="e1:mail:1", subject="Maple Clinic: your balance",
                  html="<p>Your balance is $120.00.</p>")
    values.update(kw)
    return Outgoing(**values)


def test_plain_and_html_with_a_stable_message_id(smtp_server):
    transport = SmtpEmail("127.0.0.1", smtp_server.port, from_email="billing@maple.example")
    accepted = transport.send(outgoing())
    assert accepted.provider_id == message_id("e1:mail:1") and accepted.status == "sent"
    (received,) = smtp_server.received
    assert received["from"] == "billing@maple.example" and received["to"] == ["maria@example.com"]
    (msg,) = smtp_server.messages()
    assert msg["Subject"] == "Maple Clinic: your balance"
    assert msg["Message-ID"] == message_id("e1:mail:1")
    assert msg.get_body(("plain",)).get_content().strip() == "Your balance is $120.00."
    assert msg.get_body(("html",)).get_content().strip() == "<p>Your balance is $120.00.</p>"


def test_recipient_refused_is_permanent(smtp_server):
    smtp_server.faults["RCPT"] = "550 5.1.1 No such user"
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port).send(outgoing())
    assert caught.value.permanent and caught.value.code == "550" and not caught.value.accepted_unknown
    assert smtp_server.received == []


def test_temporary_refusal_is_transient(smtp_server):
    smtp_server.faults["MAIL"] = "451 4.3.0 Try again later"
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port).send(outgoing())
    assert not caught.value.permanent and caught.value.code == "451"


def test_no_server_is_transient_and_nothing_was_sent(smtp_server):
    with refused_port() as port, pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", port, timeout=PATIENCE).send(outgoing())
    assert not caught.value.permanent and not caught.value.accepted_unknown


def test_connection_lost_during_data_may_have_been_sent(smtp_server):
    smtp_server.faults["DATA"] = "drop-after-data"
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE).send(outgoing())
    assert caught.value.accepted_unknown
    assert len(smtp_server.received) == 1


def test_timeout_after_the_message_was_sent_may_have_been_sent(smtp_server, impatient_after_the_message):
    smtp_server.faults["DATA"] = "hang-after-data"
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE).send(outgoing())
    assert caught.value.accepted_unknown and not caught.value.permanent
    wait_until(lambda: smtp_server.received, "the server to take the message")  # a busy machine may run it late
    assert len(smtp_server.received) == 1


def test_connection_lost_at_the_data_command_was_not_sent(smtp_server):
    """Dropped before the server said 354: it never had the message, so a retry is safe."""
    smtp_server.faults["DATA"] = "drop"
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE).send(outgoing())
    assert not caught.value.accepted_unknown and not caught.value.permanent
    assert smtp_server.received == []


@pytest.mark.parametrize("reply, permanent", [("451 4.3.0 Try again later", False), ("554 5.7.1 Rejected", True)])
def test_a_refusal_of_the_message_is_a_clear_answer(smtp_server, reply, permanent):
    smtp_server.faults["DATA"] = reply
    with pytest.raises(TransportError) as caught:
        SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE).send(outgoing())
    assert caught.value.permanent is permanent and not caught.value.accepted_unknown
    assert caught.value.code == reply[:3]


def test_a_lost_goodbye_after_the_message_was_taken_is_sent(smtp_server):
    smtp_server.faults["QUIT"] = "drop"
    accepted = SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE).send(outgoing())
    assert accepted.status == "sent" and len(smtp_server.received) == 1


def test_lines_starting_with_a_dot_arrive_intact(smtp_server):
    SmtpEmail("127.0.0.1", smtp_server.port).send(outgoing(body="Line one\n.\n.hidden\nend", html=""))
    (msg,) = smtp_server.messages()
    assert msg.get_body(("plain",)).get_content().splitlines() == ["Line one", ".", ".hidden", "end"]


def test_smtp_cannot_be_asked_about_a_send():
    with pytest.raises(TransportError, match="Cannot confirm"):
        SmtpEmail("127.0.0.1", 9).lookup("e1:mail:1", "maria@example.com", None)


@pytest.mark.django_db
def test_the_engine_records_then_sends_the_email(smtp_server, settings, monkeypatch, org, make_invoice, clock,
                                                 transports):
    from duedesk.engine import actions

    settings.SMTP_CONFIGURED, settings.TWILIO_AUTH_TOKENS = True, {}
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    org.email_from = "billing@maple.example"
    org.save()
    assert twilio.channel_status(org)["email"] == "smtp"
    real = twilio.transports_for_org(org)
    assert isinstance(real.email, SmtpEmail)
    workflow = Workflow.objects.create(organization=org, slug="email", name="Email", version=1, source=EMAIL_WORKFLOW)
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock(), workflow=workflow)
    seen_before_send = []

    class Watching(SmtpEmail):
        def send(self, msg):
            seen_before_send.append(Message.objects.get(idempotency_key=msg.idempotency_key).status)
            return super().send(msg)

    watching = Watching.from_settings(org)
    both = Transports(sms=transports.sms, voice=transports.voice, email=watching)
    Worker(lambda o: both, clock=clock, worker_id="mail").run_until_idle()

    assert seen_before_send == ["sending"]
    (msg,) = smtp_server.messages()
    assert msg["To"] == invoice.contact.email and msg["From"] == "billing@maple.example"
    assert msg["Subject"] == "Maple Clinic: your balance"
    plain = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "$120.00" in plain and "$120.00" in html
    assert f'href="{invoice.pay_link}"' in html
    record = Message.objects.get(invoice=invoice, channel="email")
    assert record.status == "sent" and record.provider_id == msg["Message-ID"]
    assert Event.objects.filter(kind="email.sent", invoice=invoice).count() == 1
    assert Step.objects.get(enrollment__invoice=invoice, step_id="mail").status == "done"
    assert Enrollment.objects.get(invoice=invoice).status == "done"


@pytest.mark.django_db
def test_an_email_nobody_can_confirm_goes_to_a_person_not_out_again(smtp_server, settings, monkeypatch, org,
                                                                    make_invoice, clock, transports,
                                                                    impatient_after_the_message):
    """DATA sent, no answer: SMTP can't be asked, so the send is `unknown` with a handoff, never resent."""
    from duedesk.engine import actions
    from duedesk.records.models import Handoff

    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    smtp_server.faults["DATA"] = "hang-after-data"
    workflow = Workflow.objects.create(organization=org, slug="email", name="Email", version=1, source=EMAIL_WORKFLOW)
    invoice = make_invoice(due=date(2026, 12, 10))
    actions.enroll_invoice(invoice, clock(), workflow=workflow)
    mail = SmtpEmail("127.0.0.1", smtp_server.port, timeout=PATIENCE)
    both = Transports(sms=transports.sms, voice=transports.voice, email=mail)
    worker = Worker(lambda o: both, clock=clock, worker_id="mail")
    worker.run_until_idle()
    clock.advance(hours=1)
    worker.run_until_idle()

    wait_until(lambda: smtp_server.received, "the server to take the message")  # a busy machine may run it late
    assert len(smtp_server.received) == 1
    step = Step.objects.get(enrollment__invoice=invoice, step_id="mail")
    assert step.status == "unknown"
    assert Message.objects.get(invoice=invoice, channel="email").status == "unknown"
    assert Handoff.objects.filter(invoice=invoice, reason="unknown_send", status="open").count() == 1
    assert not Event.objects.filter(kind="email.retrying", invoice=invoice).exists()
