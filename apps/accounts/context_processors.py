from django.http import HttpRequest

from apps.accounts.roles import NAV_SECTIONS


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated):
        return {"nav_sections": []}
    roles = user.role_names()
    sections = [
        {"label": label, "url": url, "active": request.path.startswith(url)}
        for label, url, allowed in NAV_SECTIONS
        if roles & {r.value for r in allowed}
    ]
    return {"nav_sections": sections, "user_roles": sorted(roles)}
