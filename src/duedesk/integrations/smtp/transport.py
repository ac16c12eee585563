"""Email over SMTP: plain text with an HTML alternative, one SMTP transaction per message.

The MIME message is built by Django (EmailMultiAlternatives); the SMTP conversation is driven
step by step so we know how far it got: a failure before DATA means nothing was sent (safe to
retry), a failure during DATA may mean the server took it (accepted_unknown: never blindly resent).

Configured from the environment (DUEDESK_SMTP_HOST, _PORT, _USER, _PASSWORD, _TLS; see settings.py);
the sender is the organization's email_from, else DUEDESK_EMAIL_FROM.
"""

from __future__ import annotations

import hashlib
import re
import smtplib
import ssl
from datetime import datetime

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from duedesk.channels.base import Accepted, Outgoing
from duedesk.channels.errors import TransportError

DOMAIN = "duedesk.invalid"


def message_id(idempotency_key: str) -> str:
    """The same step always gets the same Message-ID, so a receiving server can spot a duplicate."""
    digest = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@{DOMAIN}>"


class SmtpEmail:
    name = "smtp"

    def __init__(self, host: str, port: int, *, username: str = "", password: str = "", use_tls: bool = False,
                 from_email: str = "", timeout: float = 15.0) -> None:
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.use_tls = use_tls
        self.from_email = from_email or settings.DEFAULT_FROM_EMAIL
        self.timeout = timeout

    @classmethod
    def from_settings(cls, org=None) -> SmtpEmail:
        return cls(
            settings.EMAIL_HOST, settings.EMAIL_PORT, username=settings.EMAIL_HOST_USER,
            password=settings.EMAIL_HOST_PASSWORD, use_tls=settings.EMAIL_USE_TLS,
            from_email=(getattr(org, "email_from", "") or settings.DEFAULT_FROM_EMAIL),
        )

    def build(self, msg: Outgoing) -> EmailMultiAlternatives:
        mid = message_id(msg.idempotency_key)
        email = EmailMultiAlternatives(
            subject=msg.subject, body=msg.body, from_email=msg.sender or self.from_email, to=[msg.to],
            headers={"Message-ID": mid, "Auto-Submitted": "auto-generated"},
        )
        if msg.html:
            email.attach_alternative(msg.html, "text/html")
        return email

    def send(self, msg: Outgoing) -> Accepted:
        """One SMTP transaction. Where it stopped decides what a failure means:

        connect, hello, envelope (MAIL, RCPT), the DATA command itself: the server has no message;
            a 5xx is permanent, anything else is transient (safe to retry).
        body: the message went out (or part of it) and no final reply came: a timeout or dropped
            connection here may mean the server took it (accepted_unknown: never blindly resent).
            A 4xx/5xx reply to the final dot is a clear refusal (nothing was taken).
        quit: the server said 250 to the message: it is sent, whatever happens to the goodbye.
        """
        email = self.build(msg)
        mid = message_id(msg.idempotency_key)
        data = email.message().as_bytes(linesep="\r\n")
        sender = email.from_email
        phase = "connect"
        smtp = None
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            phase = "hello"
            smtp.ehlo_or_helo_if_needed()
            if self.use_tls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password)
            phase = "envelope"
            code, reply = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, reply, sender)
            code, reply = smtp.rcpt(msg.to)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({msg.to: (code, reply)})
            phase = "data"
            code, reply = smtp.docmd("DATA")
            if code != 354:
                raise smtplib.SMTPDataError(code, reply)
            phase = "body"
            smtp.send(_dot_stuffed(data))
            code, reply = smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
            phase = "quit"
            smtp.quit()
        except smtplib.SMTPRecipientsRefused as exc:
            code, reply = next(iter(exc.recipients.values()))
            raise _refused(code, reply, "refused the recipient") from exc
        except smtplib.SMTPResponseException as exc:
            if phase == "quit":
                return Accepted(mid, "sent")
            raise _refused(exc.smtp_code, exc.smtp_error, f"refused the message ({phase})") from exc
        except OSError as exc:  # timeouts, resets, SMTPServerDisconnected
            if phase == "quit":
                return Accepted(mid, "sent")  # the message was accepted; only the goodbye was lost
            if phase == "body":
                raise TransportError(
                    f"The mail server did not confirm the message after it was sent ({type(exc).__name__}); "
                    "it may have been accepted.",
                    accepted_unknown=True,
                ) from exc
            raise TransportError(f"The mail server did not answer ({phase}: {type(exc).__name__}).") from exc
        finally:
            if smtp is not None:
                smtp.close()
        return Accepted(mid, "sent")

    def lookup(self, idempotency_key: str, to: str, since: datetime) -> Accepted | None:
        """SMTP can't be asked whether a server took a message: an unsure send is never confirmed
        either way, and the engine leaves it to a person instead of sending it again."""
        raise TransportError("Cannot confirm: a mail server can't be asked whether it took a message.")


def _dot_stuffed(data: bytes) -> bytes:
    """The message as DATA carries it: CRLF lines, a leading dot doubled, ended by CRLF.CRLF."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _refused(code: int, reply, what: str) -> TransportError:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return TransportError(
        f"The mail server {what}: {code} {text}".strip(),
        permanent=500 <= int(code) < 600,
        code=str(code),
    )
