import pytest

from apps.engine.core.errors import BpmnValidationError, UnsafeXmlError
from apps.engine.core.xml import parse_xml

MINIMAL = b'<?xml version="1.0"?><a xmlns="urn:x"><b id="1">text</b></a>'


def test_parses_plain_xml():
    root = parse_xml(MINIMAL)
    assert root.tag == "{urn:x}a"
    assert root[0].get("id") == "1"


def test_accepts_text_input():
    assert parse_xml(MINIMAL.decode()).tag == "{urn:x}a"


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE a><a/>',
        b'<?xml version="1.0"?>\n<!DOCTYPE a SYSTEM "http://127.0.0.1:9/x.dtd"><a/>',
        b"<!doctype a [<!ELEMENT a ANY>]><a/>",
    ],
    ids=["bare", "external-dtd", "lowercase"],
)
def test_any_doctype_is_rejected(payload):
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(payload)
    assert info.value.problems[0].code == "xml_doctype"
    assert "DOCTYPE" in info.value.message


def test_external_entity_is_rejected():
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>'
    )
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload)


def test_billion_laughs_is_rejected():
    lines = [b'<!ENTITY lol "lol">']
    for i in range(1, 10):
        prev = b"lol" if i == 1 else b"lol%d" % (i - 1)
        lines.append(b'<!ENTITY lol%d "%s">' % (i, (b"&" + prev + b";") * 10))
    payload = b"<?xml version='1.0'?><!DOCTYPE lolz [" + b"".join(lines) + b"]><lolz>&lol9;</lolz>"
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload)


def test_quadratic_blowup_is_rejected():
    payload = (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "'
        + b"x" * 50_000
        + b'">]><a>'
        + b"&x;" * 50_000
        + b"</a>"
    )
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload, max_bytes=10 * 1024 * 1024)


def test_entity_declaration_without_doctype_word_is_rejected():
    with pytest.raises(UnsafeXmlError):
        parse_xml(b'<a><!ENTITY x "y"></a>')


def test_doctype_hidden_in_utf16_is_rejected():
    payload = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a><a/>'.encode("utf-16")
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload)


def test_utf16_document_without_doctype_parses():
    payload = '<?xml version="1.0" encoding="UTF-16"?><a><b/></a>'.encode("utf-16")
    assert parse_xml(payload).tag == "a"


def test_oversize_is_rejected_before_parsing():
    payload = b"<a>" + b"x" * 200 + b"</a>"
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(payload, max_bytes=100)
    assert info.value.problems[0].code == "xml_too_large"
    assert "limit is 100 bytes" in info.value.message


def test_default_size_cap_is_five_mebibytes():
    payload = b"<a>" + b"x" * (5 * 1024 * 1024) + b"</a>"
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload)


def test_absurd_depth_is_rejected():
    payload = b"<a>" * 100_000 + b"</a>" * 100_000
    with pytest.raises(UnsafeXmlError) as info:
        parse_xml(payload)
    assert info.value.problems[0].code == "xml_too_deep"


def test_depth_cap_is_configurable():
    payload = b"<a><a><a><a/></a></a></a>"
    assert parse_xml(payload, max_depth=4) is not None
    with pytest.raises(UnsafeXmlError):
        parse_xml(payload, max_depth=3)


def test_malformed_xml_is_a_validation_error_not_unsafe():
    with pytest.raises(BpmnValidationError) as info:
        parse_xml(b"<a><b></a>")
    assert not isinstance(info.value, UnsafeXmlError)
    assert info.value.problems[0].code == "xml_syntax"
    assert "not well-formed" in info.value.problems[0].message


def test_empty_input_is_a_validation_error():
    with pytest.raises(BpmnValidationError) as info:
        parse_xml(b"   ")
    assert info.value.problems[0].message == "The file is empty."
