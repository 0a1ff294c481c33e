"""HTTP/REST connector with SSRF protection (see docs/connectors.md)."""
