from django.http import HttpResponse
from django.urls import path


def home(request):
    return HttpResponse("duedesk is running. Staff pages: /admin/")


urlpatterns = [path("", home, name="home")]
