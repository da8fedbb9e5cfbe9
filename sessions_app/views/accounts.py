"""Signing in: the password (locked after repeated failures by django-axes),
then, for staff who use one, the second factor from an authenticator app."""

import re
from base64 import b32encode

import segno
from crispy_forms.helper import FormHelper
from django import forms
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from sessions_app.middleware import TWO_FACTOR_PENDING
from sessions_app.roles import two_factor_required


@method_decorator(login_not_required, name="dispatch")
class SignInView(auth_views.LoginView):
    """Django's sign-in, which then writes into the session whether a second
    factor is still owed: to verify (the user has an authenticator) or to set
    up (the clinic requires one of this user and there is none yet)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        user = form.get_user()
        if user_has_device(user, confirmed=True):
            self.request.session[TWO_FACTOR_PENDING] = "verify"
        elif two_factor_required(user):
            self.request.session[TWO_FACTOR_PENDING] = "setup"
        return response


class CodeForm(forms.Form):
    token = forms.CharField(
        label="6-digit code from your authenticator app",
        min_length=6,
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def __init__(self, *args, device: TOTPDevice | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_token(self):
        token = "".join(self.cleaned_data["token"].split())
        if not re.fullmatch(r"[0-9]{6,8}", token):
            raise forms.ValidationError("The code is made of 6 digits.")
        if self.device is None:
            raise forms.ValidationError("No authenticator is set up for this account.")
        # Each wrong code doubles the wait before the next is even checked.
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes in a row: wait a few seconds, then type the new code.")
        if not self.device.verify_token(token):
            raise forms.ValidationError("That code is wrong or has expired: try the one showing now.")
        return token


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"


def _signed_in_with(request, device: TOTPDevice):
    otp_login(request, device)
    request.session.pop(TWO_FACTOR_PENDING, None)
    return redirect(_next(request))


@require_http_methods(["GET", "POST"])
def two_factor_verify(request):
    """The second step of signing in, for a user with an authenticator."""
    device = TOTPDevice.objects.devices_for_user(request.user, confirmed=True).first()
    if device is None:
        return redirect("two_factor_setup")
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        return _signed_in_with(request, device)
    return render(request, "account/two_factor_verify.html", {"form": form, "next": _next(request)})


@require_http_methods(["GET", "POST"])
def two_factor_setup(request):
    """Add an authenticator: scan the code, type the number it shows. Until the
    number is right the authenticator is not used. A member of staff who
    already has one is verified with it first, so a stolen password cannot add
    another."""
    if user_has_device(request.user, confirmed=True) and not request.user.is_verified():
        return redirect("two_factor_verify")
    device, _ = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "Authenticator app"}
    )
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=request.user).exclude(pk=device.pk).delete()  # one authenticator a person
        messages.success(request, "Two-factor sign-in is on: each sign-in now asks for a code from your app.")
        return _signed_in_with(request, device)
    context = {
        "form": form,
        "next": _next(request),
        "qr": _qr_svg(device.config_url),
        "secret": _spaced(device.bin_key),
        "required": two_factor_required(request.user),
        "replacing": user_has_device(request.user, confirmed=True),
    }
    return render(request, "account/two_factor_setup.html", context)


def _qr_svg(url: str) -> str:
    """The otpauth:// address as an inline SVG QR code: drawn here, no request
    leaves the clinic's network."""
    return segno.make(url, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def _spaced(key: bytes) -> str:
    """The secret in base32, in groups of four, for typing it by hand."""
    text = b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
