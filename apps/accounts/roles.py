"""The one permission vocabulary: role names (= Django group names) and object permissions."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    DESIGNER = "designer"
    APPROVER = "approver"
    MANAGER = "manager"
    AUDITOR = "auditor"
    ADMIN = "admin"


ALL_ROLES: tuple[Role, ...] = tuple(Role)

# Navigation sections and the roles that see them.
NAV_SECTIONS: tuple[tuple[str, str, frozenset[Role]], ...] = (
    ("Designer", "/designer/", frozenset({Role.DESIGNER, Role.ADMIN})),
    ("Requests", "/requests/", frozenset(Role)),
    ("Inbox", "/inbox/", frozenset({Role.APPROVER, Role.MANAGER, Role.DESIGNER, Role.ADMIN})),
    ("Reports", "/admin-reports/", frozenset({Role.AUDITOR, Role.ADMIN, Role.MANAGER})),
    ("Admin", "/admin/", frozenset({Role.ADMIN})),
)

# Object permissions (codename on the model's Meta.permissions or Django defaults).
PERM_VIEW_PROCESS = (
    "processes.view_processdefinition"  # read-only designer view, granted per process
)
PERM_VIEW_INSTANCE = "engine.view_processinstance"
PERM_OPERATE_INSTANCE = "engine.operate_processinstance"  # cancel / suspend / resume / retry
PERM_VIEW_TASK = "inbox.view_humantask"
PERM_WORK_TASK = "inbox.work_humantask"  # claim / complete / delegate
