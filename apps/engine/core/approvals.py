"""What an approval's decision writes into the process: one rule for every path that decides
(the inbox's page, API and bulk approve, and the designer's test run).

- ``approved`` is always a boolean (True: approved), as an automatic approval writes it too;
- the task's outcome variable (``flowgate:outcomeVariable``, default ``outcome``) holds the text
  ``"approved"`` / ``"rejected"``, which N-of-M completion conditions count (``nrOfApproved``);
- a model that names ``approved`` itself as the outcome variable gets the boolean there:
  ``approved`` never holds text. (Before, it held ``"approved"`` after a person decided and
  ``True`` after an automatic approval; a gateway comparing it with ``True`` then took the
  reject path.)
"""

from __future__ import annotations

from typing import Any

APPROVED = "approved"
REJECTED = "rejected"
DECISION_VARIABLE = "approved"


def decision_variables(data: dict[str, Any], *, approved: bool, outcome_variable: str) -> dict:
    """``data`` with the decision written as the rule above says."""
    written = {**data, DECISION_VARIABLE: bool(approved)}
    if outcome_variable and outcome_variable != DECISION_VARIABLE:
        written[outcome_variable] = APPROVED if approved else REJECTED
    return written


def decision_of(value: Any) -> bool | None:
    """The decision an outcome variable holds: True / False, or None when it holds none. Reads
    the text form, and the boolean a model whose outcome variable is ``approved`` gets (also
    what instances started before the rule hold: ``"approved"``)."""
    if value is True or value == APPROVED:
        return True
    if value is False or value == REJECTED:
        return False
    return None
