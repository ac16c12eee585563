"""Word lists the content linter (core/content.py) reads, one entry a line, `#` for comments.

clinical.*.txt: diagnoses, procedures, drugs, specialties and provider titles a message must not say
(HIPAA minimum necessary: a text or voicemail can be read or heard by anyone with the phone).
threats.*.txt: legal action, arrest, credit reporting, garnishment (Regulation F 12 CFR 1006.14 and
1006.18, FDCPA 1692d/1692e): a reminder never threatens. debt.*.txt: words that reveal a debt to whoever
hears a voicemail (12 CFR 1006.2(j), the limited-content message). Entries are matched as whole words
or phrases, case and accents ignored; a trailing `*` matches any ending ("oncolog*").
"""
