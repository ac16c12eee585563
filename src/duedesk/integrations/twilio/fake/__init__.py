"""A local fake Twilio that speaks Twilio's HTTP, for tests, the simulator and benchmarks.

with FakeTwilio() as fake:
    rest = TwilioRest(fake.account_sid, fake.auth_token, base_url=fake.base_url)
    fake.script_call("+15551230001", Callee.person(lines=["yes", "Friday"]))
"""

from duedesk.integrations.twilio.fake.callee import HANGUP, SILENCE, Callee, FakeCall, Press
from duedesk.integrations.twilio.fake.server import TEST_ACCOUNT_SID, FakeTwilio, serve

__all__ = ["HANGUP", "SILENCE", "TEST_ACCOUNT_SID", "Callee", "FakeCall", "FakeTwilio", "Press", "serve"]
