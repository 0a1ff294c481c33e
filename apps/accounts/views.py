from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.forms import ApiTokenForm, SignInRetryForm
from apps.accounts.requests import AuthenticatedHttpRequest
from apps.accounts.selectors import api_tokens_of
from apps.accounts.services import api_token_create, api_token_revoke
from apps.common.errors import FlowgateError


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


LOCKED_OUT_MESSAGE = (
    "Too many failed sign-in attempts for this account from your address. "
    "Wait {minutes} minutes and try again, or ask an administrator to unlock it."
)


def login_locked_out(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    """django-axes' lockout response (AXES_LOCKOUT_CALLABLE): the sign-in page, a clear message, 429."""
    minutes = max(1, -(-settings.LOGIN_FAILURE_WINDOW_SECONDS // 60))
    posted = SignInRetryForm(request.POST)
    username = (credentials or {}).get("username") or posted.value("username")
    form = AuthenticationForm(request, initial={"username": username})
    response = render(
        request,
        "accounts/login.html",
        {
            "form": form,
            "next": posted.value("next"),
            "login_error": LOCKED_OUT_MESSAGE.format(minutes=minutes),
        },
        status=429,
    )
    response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return response


class LogoutView(auth_views.LogoutView):
    pass


def _profile_page(
    request: AuthenticatedHttpRequest,
    *,
    form: ApiTokenForm | None = None,
    status: int = 200,
    **extra,
) -> HttpResponse:
    context = {
        "roles": sorted(request.user.role_names()),
        "tokens": api_tokens_of(user=request.user),
        "token_form": form or ApiTokenForm(),
        **extra,
    }
    return render(request, "accounts/profile_tokens.html", context, status=status)


@login_required
def profile(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _profile_page(request)


@never_cache
@login_required
@require_POST
def token_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Creates a token and shows its key in this response only (never stored, never redirected)."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _profile_page(request, form=form, status=400)
    try:
        token, raw_key = api_token_create(
            user=request.user, name=form.cleaned_data["name"], expires_at=form.expires_at()
        )
    except FlowgateError as exc:
        form.add_error(None, exc.message)
        return _profile_page(request, form=form, status=exc.status)
    return _profile_page(request, new_token=token, new_key=raw_key)


@login_required
@require_POST
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> HttpResponse:
    token = api_tokens_of(user=request.user).filter(pk=token_id).first()
    if token is None:
        raise Http404("No such API token of yours.")
    try:
        api_token_revoke(token=token, actor=request.user)
    except FlowgateError as exc:
        messages.warning(request, exc.message)
    else:
        messages.success(request, f"API token “{token.name}” revoked. It no longer works.")
    return redirect("accounts:profile")
