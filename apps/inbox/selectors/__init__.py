"""Inbox and request reads. Visibility always comes from object permissions (apps.accounts.
permissions): a task is in someone's inbox because it was offered to one of their roles, to them
by name, or assigned to them; no global permission shows every task.

``tasks``: the inbox list and everything about a task; ``requests``: the requester's side."""

from apps.inbox.eligibility import Eligibility as task_eligibility  # noqa: F401 - who may hold it
from apps.inbox.eligibility import decided_elsewhere  # noqa: F401
from apps.inbox.selectors.requests import (  # noqa: F401 - the package's surface
    CatalogEntry,
    RequestState,
    RequestSummary,
    catalog,
    catalog_entry,
    my_requests,
    request_get,
    request_state,
    request_summaries,
)
from apps.inbox.selectors.tasks import (  # noqa: F401 - the package's surface
    COUNT_CAP,
    LIST_FIELDS,
    REF_COLUMNS,
    ROW_COLUMNS,
    SORTS,
    VIEWS,
    ListRows,
    TaskRow,
    approval_progress,
    attachments_of,
    comments_of,
    events_since,
    history_of,
    inbox_counts,
    inbox_list,
    instance_open_tasks,
    last_event_id,
    list_rows,
    newest_open_for_roles,
    rows_describe,
    substitutions_of,
    task_describe,
    task_get_for_user,
    tasks_chosen,
    tasks_visible,
)
