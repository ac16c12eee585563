"""The webhook latency bench's server: duedesk's settings, with one more URL (urls.py beside this file)."""

from duedesk.settings import *  # noqa: F403

ROOT_URLCONF = "webhook_floor.urls"
