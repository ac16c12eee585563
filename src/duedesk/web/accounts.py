"""Log in, log out, password reset by email, and invitations (a password-set link by email)."""

from __future__ import annotations

import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import path, reverse_lazy
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from duedesk.records.models import Membership
from duedesk.web.access import member

T = "web/accounts/"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name=T + "login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", auth_views.PasswordResetView.as_view(
        template_name=T + "password_reset_form.html", email_template_name=T + "password_reset_email.txt",
        subject_template_name=T + "password_reset_subject.txt", success_url=reverse_lazy("password_reset_done")),
        name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(
        template_name=T + "password_reset_done.html"), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(
        template_name=T + "password_reset_confirm.html", success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm"),
    path("reset/done/", auth_views.PasswordResetCompleteView.as_view(
        template_name=T + "password_reset_complete.html"), name="password_reset_complete"),
]


def invite(request, organization, email: str, role: str) -> Membership:
    """Create the teammate (or reuse their account) and email a link to set their password."""
    User = get_user_model()
    email = email.strip().lower()
    with transaction.atomic():
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(username=email, email=email)
            # A random password nobody knows: the emailed link sets the real one.
            user.set_password(secrets.token_urlsafe(32))
            user.save()
        membership, _ = Membership.objects.get_or_create(
            user=user, organization=organization, defaults={"role": role})
    form = PasswordResetForm({"email": email})
    if form.is_valid():
        form.save(
            request=request, use_https=request.is_secure(),
            subject_template_name=T + "invite_subject.txt", email_template_name=T + "invite_email.txt",
            extra_email_context={"organization": organization, "inviter": request.user},
        )
    return membership


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language of these pages"), required=False,
        choices=[("", gettext_lazy("My browser's language")), *settings.LANGUAGES],
        help_text=gettext_lazy("Only your own pages change; patients' messages keep each patient's language."))


@member(own=True)
def account(request):
    """The signed-in person's own account: the language of their pages (every role may change it)."""
    membership = request.membership
    form = LanguageForm(request.POST or None, initial={"language": membership.language})
    if request.method == "POST" and form.is_valid():
        language = form.cleaned_data["language"]
        if language != membership.language:
            membership.language = language
            membership.save(update_fields=["language"])
        translation.activate(language or translation.get_language_from_request(request))
        messages.success(request, _("Your pages are now in %(language)s.") % {
            "language": dict(settings.LANGUAGES)[translation.get_language()[:2]]})
        return redirect("account")
    return render(request, "web/accounts/account.html", {"section": "account", "form": form})
