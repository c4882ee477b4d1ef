"""A container that hands the node's secrets back in any spelling, or redirects elsewhere: what
the submitter sees and the log holds never carries a secret, and no redirect leaves the
container's origin. The node runs as its own process, logging at DEBUG."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devnode_harness import NodeProcess
from devnode_harness import node_config
from hf_infernet_stack.containers import Containers
from hf_infernet_stack.processes import free_port
from hf_infernet_stack.rest import Http
from hostile_container import FOLLOWED_PATH
from hostile_container import HostileContainer
from hostile_container import verbatim
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from test_redaction import json_spellings
from test_redaction import strings_of

BEARER = "bearer-token-the-container-must-not-hand-back"
# An env value with a quote, a backslash, a non-ASCII letter and a character outside the BMP.
ENV_SECRET = 'quo"te\\slash-s\u00e9cret-\U0001f511'
SECRETS = (BEARER, ENV_SECRET)
CONTAINER = "raw"


def spellings(secret: str) -> list[str]:
    """The ways a secret shows up in text that quotes it: as is, JSON-escaped, Python str and
    bytes reprs, percent-encoded."""
    return [
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        urllib.parse.quote(secret, safe=""),
    ]


def assert_no_secret(text: str) -> None:
    """Neither ``text`` nor, if it is JSON, any string in it holds a spelling of a secret."""
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    for place in [text, *strings_of(parsed)]:
        for secret in SECRETS:
            for spelling in spellings(secret):
                assert spelling not in place, (spelling, place)


def http_answer(body: bytes, *, status: str = "200 OK", headers: str = "") -> bytes:
    head = f"HTTP/1.1 {status}\r\n{headers}Content-Length: {len(body)}\r\nConnection: close\r\n"
    return head.encode() + b"\r\n" + body


JSON = "Content-Type: application/json\r\n"


class Node:
    def __init__(self, http: Http, process: NodeProcess) -> None:
        self.http, self.process = http, process

    def run(self, answer: bytes) -> dict[str, Any]:
        """A job the container answers with exactly ``answer``; its result as served."""
        result = self.http.result(self.http.job([CONTAINER], verbatim(answer)))
        assert_no_secret(json.dumps(result))
        return result


@pytest.fixture(scope="module")
def node(hostile: HostileContainer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    tmp: Path = tmp_path_factory.mktemp("secrets")
    port = free_port()
    container = {
        "id": CONTAINER,
        "url": hostile.url,
        "bearer": BEARER,
        "env": {"API_KEY": ENV_SECRET, "SHORT": "1"},
        "timeout": 5.0,
    }
    config = node_config(tmp, [container], server={"port": port}, log={"level": "DEBUG"})
    path = tmp / "config.json"
    path.write_text(json.dumps(config))
    process = NodeProcess(path).start()
    try:
        url = f"http://127.0.0.1:{port}"
        process.wait_ready(url)
        yield Node(Http(url), process)
    finally:
        process.stop()
    assert "Traceback" not in process.output, process.output
    # Every job of the module logged its failure; no line carries a secret in any spelling.
    assert "failed" in process.output
    assert_no_secret(process.output)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_json_spelling_of_a_secret_is_redacted_from_the_served_answer(
    node: Node, data: st.DataObject
) -> None:
    secret = data.draw(st.sampled_from(SECRETS))
    key, value = (data.draw(json_spellings(secret)) for _ in range(2))
    body = f'{{"{key}": ["{value}", 7], "kept": "yes"}}'.encode()
    status = data.draw(st.sampled_from(["200 OK", "500 Internal Server Error"]))
    result = node.run(http_answer(body, status=status, headers=JSON))
    if status == "200 OK":
        assert result["result"]["output"] == {"[redacted]": ["[redacted]", 7], "kept": "yes"}
    else:
        assert result["status"] == "failed"
        assert "[redacted]" in result["result"]["error"]


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"HTTP/1.1 2x0 %s\r\n\r\n", id="status-line"),
        pytest.param(b"HTTP/1.1%s 200 OK\r\n\r\n", id="version"),
        pytest.param(b"HTTP/1.1 200 OK\r\n[%s]: v\r\n\r\n", id="header-name"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: %s\r\n\r\n", id="content-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s\r\n", id="chunk"),
    ],
)
def test_parse_errors_quoting_a_secret_are_redacted(node: Node, answer: bytes) -> None:
    for secret in SECRETS:
        result = node.run(answer % secret.encode())
        assert result["status"] == "failed"
        assert "not valid HTTP" in result["result"]["error"]
        assert "[redacted]" in result["result"]["error"]


def test_a_body_that_is_not_json_is_quoted_redacted(node: Node) -> None:
    body = ("oops " + json.dumps(ENV_SECRET)).encode()
    result = node.run(http_answer(body, headers="Content-Type: text/plain\r\n"))
    assert result["result"]["error"].endswith('oops "[redacted]"')


@pytest.mark.parametrize("charset", ["utf-16", "UTF-16LE", "latin-1", "utf-7"])
def test_an_answer_in_a_charset_other_than_utf8_fails_naming_it(node: Node, charset: str) -> None:
    encoding = charset.lower().replace("-7", "_7")
    body = json.dumps({"key": ENV_SECRET}, ensure_ascii=False).encode(encoding, errors="replace")
    content_type = f"Content-Type: application/json; charset={charset}\r\n"
    result = node.run(http_answer(body, headers=content_type))
    assert result["status"] == "failed"
    assert f"charset '{charset}'" in result["result"]["error"]
    assert "UTF-8 only" in result["result"]["error"]


def test_utf8_and_ascii_charsets_are_read(node: Node) -> None:
    for charset in ("utf-8", "UTF8", "us-ascii"):
        headers = f"Content-Type: application/json; charset={charset}\r\n"
        result = node.run(http_answer(b'{"n": 1}', headers=headers))
        assert result["result"]["output"] == {"n": 1}, charset


@pytest.fixture(scope="module")
def elsewhere() -> Iterator[Containers]:
    with Containers() as server:
        yield server


@pytest.mark.parametrize("status", ["301 Moved", "302 Found", "303 See Other", "307 X", "308 X"])
def test_no_redirect_to_another_origin_is_followed(
    node: Node, elsewhere: Containers, status: str
) -> None:
    location = f"{elsewhere.url('echo')}/service_output"
    calls = len(elsewhere.calls)
    result = node.run(http_answer(b"", status=status, headers=f"Location: {location}\r\n"))
    assert result["status"] == "failed"
    assert f"HTTP {status[:3]} with Location '{location}'" in result["result"]["error"]
    assert len(elsewhere.calls) == calls  # the other origin was never called


@pytest.mark.parametrize("status", ["301 Moved", "302 Found", "303 See Other"])
def test_only_307_and_308_are_followed_on_the_same_origin(
    node: Node, hostile: HostileContainer, status: str
) -> None:
    headers = f"Location: {FOLLOWED_PATH}\r\n"
    result = node.run(http_answer(b"", status=status, headers=headers))
    assert result["status"] == "failed"
    assert f"HTTP {status[:3]} with Location '{FOLLOWED_PATH}'" in result["result"]["error"]


@pytest.mark.parametrize("status", ["307 Temporary Redirect", "308 Permanent Redirect"])
def test_same_origin_307_and_308_are_followed(
    node: Node, hostile: HostileContainer, status: str
) -> None:
    for location in (FOLLOWED_PATH, f"{hostile.url}{FOLLOWED_PATH}/x"):
        headers = f"Location: {location}\r\n"
        result = node.run(http_answer(b"", status=status, headers=headers))
        assert result["result"]["output"] == {"token": "followed"}, location


def test_a_redirect_carrying_a_secret_is_named_redacted(node: Node) -> None:
    location = "http://elsewhere.invalid/?k=" + urllib.parse.quote(ENV_SECRET, safe="")
    result = node.run(http_answer(b"", status="302 Found", headers=f"Location: {location}\r\n"))
    assert "Location 'http://elsewhere.invalid/?k=[redacted]'" in result["result"]["error"]


def test_a_stream_cannot_spell_a_secret_past_the_node(node: Node) -> None:
    body = json.dumps({"leak": ENV_SECRET}).encode()  # \\u-escaped by json.dumps
    answer = http_answer(body, headers="Content-Type: text/plain\r\n")
    streamed = node.http.post(
        "/api/jobs/stream", {"containers": [CONTAINER], "data": verbatim(answer)}
    )
    assert streamed.status == 200
    job_id, _, text = streamed.body.decode().partition("\n")
    assert text == '{"leak": "[redacted]"}'
    assert_no_secret(json.dumps(node.http.result(job_id)))
