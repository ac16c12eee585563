"""Mail written to files when no SMTP server is set (a fresh install): password-reset links and handoff
notices land in DATA_DIR/mail, so the directory is 0700 and each file 0600 from its first byte, whatever
the umask (Django's file backend leaves both to the umask: 0755 and 0644 under the usual 022)."""

from __future__ import annotations

import os

from django.core.mail.backends.filebased import EmailBackend


class PrivateFileBackend(EmailBackend):
    def __init__(self, *args, file_path=None, **kwargs):
        from django.conf import settings

        path = file_path or getattr(settings, "EMAIL_FILE_PATH", None)
        if path:
            os.makedirs(path, mode=0o700, exist_ok=True)
        super().__init__(*args, file_path=file_path, **kwargs)

    def open(self):
        if self.stream is None:
            fd = os.open(self._get_filename(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            self.stream = os.fdopen(fd, "ab")
            return True
        return False
