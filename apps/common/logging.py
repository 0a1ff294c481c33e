import logging

from apps.common.context import instance_id_var, request_id_var


class ContextFilter(logging.Filter):
    """Adds request_id and instance_id (when known) to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.instance_id = getattr(record, "instance_id", None) or instance_id_var.get()
        return True
