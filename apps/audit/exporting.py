"""Export formats of the audit trail: streaming CSV and JSON, and the evidence archive."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from typing import Any

from apps.audit.models import AuditEvent
from apps.audit.selectors import EXPORT_COLUMNS, event_as_dict

JSON_COLUMNS = frozenset({"before", "after", "data"})
# Spreadsheets run cells starting with these as formulas; such text cells get a leading quote.
# (The JSON export is the faithful copy; the CSV is for reading.)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_cell(column: str, value: Any) -> Any:
    if column in JSON_COLUMNS:
        return "" if value is None else json.dumps(value, sort_keys=True, ensure_ascii=False)
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for event in events:
        row = event_as_dict(event)
        yield writer.writerow([_csv_cell(column, row[column]) for column in EXPORT_COLUMNS])


def json_chunks(events: Iterable[AuditEvent]) -> Iterator[str]:
    yield "["
    first = True
    for event in events:
        yield ("\n" if first else ",\n") + json.dumps(event_as_dict(event), ensure_ascii=False)
        first = False
    yield "\n]\n"


def zip_bytes(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()
