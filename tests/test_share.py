"""Share links: a graph survives the trip through a URL; hostile links are refused clearly."""
import base64
import json
import zlib
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.templates import load_template
from ui import share
from ui.graph_input import MAX_GRAPH_BYTES, GraphInputError


def pack(data: bytes) -> str:
    """A token built by hand, the way an attacker would."""
    return base64.urlsafe_b64encode(zlib.compress(data)).decode().rstrip("=")


@pytest.mark.parametrize("name", ["mlp_digits", "resnet_small", "gan"])
def test_round_trip_keeps_the_whole_graph(name):
    graph = load_template(name).to_dict()
    assert share.decode_graph(share.encode_graph(graph)) == graph


def test_token_is_url_safe_and_much_smaller_than_the_json():
    graph = load_template("resnet_small").to_dict()
    token = share.encode_graph(graph)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert len(token) < len(json.dumps(graph)) / 2


def test_share_url_carries_the_token_in_the_graph_query_parameter():
    graph = load_template("mlp_digits").to_dict()
    url = share.share_url("http://class.example:8501/", share.encode_graph(graph))
    query = parse_qs(urlparse(url).query)
    assert urlparse(url).netloc == "class.example:8501"
    assert share.decode_graph(query["graph"][0]) == graph


def test_unicode_graph_names_survive():
    graph = load_template("mlp_digits").to_dict() | {"name": "Zahlen-Netz ✓ 数字"}
    assert share.decode_graph(share.encode_graph(graph))["name"] == "Zahlen-Netz ✓ 数字"


@pytest.mark.parametrize("token, expected", [
    ("", "empty"),
    ("   ", "empty"),
    ("abc$def", "characters"),
    ("<script>alert(1)</script>", "characters"),
    ("a", "not valid base64"),
    (base64.urlsafe_b64encode(b"hello world").decode(), "does not decompress"),
    ("x" * (share.MAX_TOKEN_CHARS + 1), "characters long"),
])
def test_malformed_tokens_say_what_is_wrong(token, expected):
    with pytest.raises(GraphInputError, match=expected):
        share.decode_graph(token)


def test_a_cut_link_is_reported_as_incomplete():
    token = share.encode_graph(load_template("resnet_small").to_dict())
    with pytest.raises(GraphInputError, match="incomplete|damaged"):
        share.decode_graph(token[: len(token) // 2])


def test_a_zip_bomb_stops_at_the_size_bound():
    bomb = pack(b" " * (20 * MAX_GRAPH_BYTES))
    assert len(bomb) < share.MAX_TOKEN_CHARS  # small enough to pass the length check
    with pytest.raises(GraphInputError, match="unpacks to more than"):
        share.decode_graph(bomb)


@pytest.mark.parametrize("payload, expected", [
    (b"{not json", "not valid JSON"),
    (b"[1, 2, 3]", "JSON list, not a graph"),
    (b"\xff\xfe", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "nests JSON too deeply"),
])
def test_payloads_that_are_not_graph_json_are_refused(payload, expected):
    with pytest.raises(GraphInputError, match=expected):
        share.decode_graph(pack(payload))


def test_a_graph_with_an_unknown_field_names_that_field():
    graph = load_template("mlp_digits").to_dict() | {"evil": "__import__('os')"}
    with pytest.raises(GraphInputError, match="evil"):
        share.decode_graph(share.encode_graph(graph))


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300).map(pack)))
def test_any_token_either_opens_a_graph_or_raises_a_clear_error(token):
    try:
        graph = share.decode_graph(token)
    except GraphInputError as error:
        assert str(error).startswith("The share link")
    else:
        assert {"nodes", "edges"} <= graph.keys()
