import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "duedesk.settings")
application = get_wsgi_application()

from duedesk import warm  # noqa: E402 - after the apps are ready

warm.web_process()  # before the first request, not during it (warm.py says why)
