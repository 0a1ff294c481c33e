"""The namespaces of BPMN, Camunda 7, Camunda 8 (Zeebe) and Flowgate, and the Camunda names
the importer maps to Flowgate ones."""

from __future__ import annotations

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
FLOWGATE_NS = "http://flowgate.dev/schema/bpmn/1.0"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
B = f"{{{BPMN_NS}}}"
C = f"{{{CAMUNDA_NS}}}"
Z = f"{{{ZEEBE_NS}}}"
FG = f"{{{FLOWGATE_NS}}}"

# camunda:<attr> on a user task -> flowgate:<attr> (same meaning, same value syntax)
CAMUNDA_USER_TASK_ATTRS = (
    "candidateGroups",
    "candidateUsers",
    "assignee",
    "dueDate",
    "priority",
    "formKey",
)
LANGUAGE_NAMES = {
    "http://www.w3.org/1999/xpath": "XPath",
    "xpath": "XPath",
    "javascript": "JavaScript",
    "js": "JavaScript",
    "ecmascript": "JavaScript",
    "groovy": "Groovy",
    "python": "Python",
    "jython": "Python",
    "ruby": "Ruby",
    "juel": "JUEL",
    "feel": "FEEL",
    "http://www.omg.org/spec/feel/20140401": "FEEL",
}
# Languages whose common subset Flowgate reads: JUEL ${...} and FEEL.
READ_LANGUAGES = {"JUEL", "FEEL"}
FORM_TYPES = {
    "string": "textfield",
    "long": "number",
    "double": "number",
    "boolean": "checkbox",
    "date": "datetime",
    "enum": "select",
}
