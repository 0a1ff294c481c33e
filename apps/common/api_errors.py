"""One error shape for the whole API: ``{"error": code, "message": "...", "details": [...]}``.

``exception_handler`` is DRF's EXCEPTION_HANDLER; ``page_not_found`` / ``server_error`` /
``permission_denied`` / ``bad_request`` are Django's handler404/500/403/400 and answer in the same
shape for paths under ``/api/`` (HTML pages everywhere else).
"""

from __future__ import annotations

import logging
import math
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import REASON_NO_CSRF_COOKIE
from django.shortcuts import render
from django.template.loader import render_to_string
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import set_rollback

from apps.common.errors import FlowgateError
from apps.common.outages import current_outage, outage_of, outage_page

logger = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"

# DRF's default codes, renamed where Flowgate already has a word for it (apps.common.errors).
_CODE_ALIASES = {"permission_denied": "forbidden", "invalid": "invalid"}

_FRIENDLY_MESSAGES: dict[type[exceptions.APIException], str] = {
    exceptions.NotAuthenticated: (
        "Authentication required: send 'Authorization: Token <key>' (create a key on your "
        "profile page) or sign in."
    ),
}


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": details or []}


def error_response(
    *,
    status_code: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(error_body(code, message, details), status=status_code, headers=headers)


def _flatten_validation(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested ``{"field": ["msg"]}`` / lists as a flat list of {field, message, code}."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            out.extend(_flatten_validation(value, f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [_field_error(path, item) for item in detail]
        out = []
        for index, item in enumerate(detail):
            if isinstance(item, dict | list):
                out.extend(_flatten_validation(item, f"{path}.{index}" if path else str(index)))
            else:
                out.append(_field_error(path, item))
        return out
    return [_field_error(path, detail)]


def _field_error(path: str, item: Any) -> dict[str, str]:
    return {
        "field": path or api_settings.NON_FIELD_ERRORS_KEY,
        "message": str(item),
        "code": str(getattr(item, "code", None) or "invalid"),
    }


def _validation_message(details: list[dict[str, str]]) -> str:
    if not details:
        return "The request is invalid."
    first = details[0]
    where = "" if first["field"] == api_settings.NON_FIELD_ERRORS_KEY else f"{first['field']}: "
    more = f" (and {len(details) - 1} more problem{'s' if len(details) > 2 else ''})"
    return f"Invalid input: {where}{first['message']}{more if len(details) > 1 else ''}"


def _code_of(exc: exceptions.APIException) -> str:
    detail = exc.detail
    code = getattr(detail, "code", None) if isinstance(detail, str) else None
    code = code or exc.default_code
    return _CODE_ALIASES.get(str(code), str(code))


def _database_unavailable(exc: OperationalError | InterfaceError) -> Response | None:
    """A full disk or an unreachable database: 507 / 503 that say nothing was saved (outages)."""
    outage = outage_of(exc)
    if outage is None:
        return None
    logger.error("%s: %s", outage.code, exc)
    set_rollback()
    response = error_response(status_code=outage.status, code=outage.code, message=outage.message)
    if outage.retry_after:
        response["Retry-After"] = str(outage.retry_after)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: every API error in the Flowgate shape. Unknown errors -> None (500)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return _database_unavailable(exc)
    if isinstance(exc, FlowgateError):
        set_rollback()
        return error_response(
            status_code=exc.status, code=exc.code, message=exc.message, details=exc.details
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten_validation(exc.detail)
        body = error_body("invalid", _validation_message(details), details)
    else:
        message = str(exc.detail) if isinstance(exc.detail, str) else str(exc.default_detail)
        if isinstance(exc, exceptions.Throttled):
            wait = max(1, math.ceil(getattr(exc, "wait", None) or 1))
            headers["Retry-After"] = str(wait)
            message = f"Too many requests: retry in {wait} second{'s' if wait != 1 else ''}."
        elif isinstance(exc, exceptions.NotFound) and message == str(exc.default_detail):
            message = "Not found: nothing exists at this address, or you may not see it."
        elif type(exc) in _FRIENDLY_MESSAGES and message == str(exc.default_detail):
            message = _FRIENDLY_MESSAGES[type(exc)]
        body = error_body(_code_of(exc), message)
    set_rollback()
    return Response(body, status=exc.status_code, headers=headers)


class ErrorSerializer(serializers.Serializer):
    """The body of every API error response (OpenAPI component ``ApiError``)."""

    class Meta:
        ref_name = "ApiError"

    error = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`.")
    message = serializers.CharField(help_text="What went wrong and what to do about it.")
    details = serializers.ListField(
        child=serializers.JSONField(),
        help_text="Field errors ({field, message, code}) for invalid input; otherwise extra facts.",
    )


# --- Django handlers (portal/urls.py) -------------------------------------------------------------


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATH_PREFIX)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("not_found", "Not found: nothing exists at this address."),
            status=status.HTTP_404_NOT_FOUND,
        )
    return render(request, "404.html", {"request_path": request.path}, status=404)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    message = "You do not have permission to do this."
    if _is_api(request):
        return JsonResponse(error_body("forbidden", message), status=status.HTTP_403_FORBIDDEN)
    return render(request, "403.html", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a form posted without (or with an expired) CSRF token."""
    no_cookie = reason == REASON_NO_CSRF_COOKIE
    if _is_api(request):
        message = (
            "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's value, "
            "or authenticate with a token (Authorization: Token ...)."
        )
        return JsonResponse(error_body("csrf_failed", message), status=status.HTTP_403_FORBIDDEN)
    return render(request, "403_csrf.html", {"no_cookie": no_cookie}, status=403)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, RequestDataTooBig):
        return _too_large(request)
    message = "Bad request: the request could not be understood."
    if _is_api(request):
        return JsonResponse(error_body("bad_request", message), status=status.HTTP_400_BAD_REQUEST)
    context = {"heading": "Bad request", "message": "The request could not be understood."}
    return render(request, "400.html", context, status=400)


def _too_large(request: HttpRequest) -> HttpResponse:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE: 413 (Django's default would be a bare 400)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    message = f"The request body is too large: the limit is {limit:,} bytes."
    if _is_api(request):
        return JsonResponse(error_body("request_too_large", message), status=413)
    context = {"heading": "Request too large", "message": message}
    return render(request, "400.html", context, status=413)


def server_error(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "request_id", "")
    outage = current_outage()  # e.g. a session that could not be saved on a full disk
    if outage is not None and _is_api(request):
        response = JsonResponse(error_body(outage.code, outage.message), status=outage.status)
        if outage.retry_after:
            response["Retry-After"] = str(outage.retry_after)
        return response
    if outage is not None:
        return outage_page(request, outage)
    if _is_api(request):
        return JsonResponse(
            error_body(
                "server_error",
                "Something went wrong on our side. It has been logged; quote the request id "
                "when you report it.",
                [{"request_id": request_id}] if request_id else [],
            ),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    try:  # the page must render even when the database is the thing that broke
        html: str = render_to_string("500.html", {"request_id": request_id}, request=request)
    except Exception:
        logger.exception("500.html could not be rendered")
        html = "<!doctype html><title>Server error</title><h1>Something went wrong</h1>"
    return HttpResponse(html, status=500)
