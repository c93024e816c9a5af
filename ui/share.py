"""Share links: a graph packed into one URL query parameter, and unpacked again on another machine.

The token is compact JSON, zlib-compressed, base64url without padding. Decoding treats the token
as hostile input: its length and its decompressed size are bounded before anything is parsed, and
the graph then goes through the same checks as an uploaded file (`ui.graph_input`).
"""
import base64
import binascii
import json
import re
import zlib
from urllib.parse import urlencode

from ui.graph_input import MAX_GRAPH_BYTES, GraphInputError, parse_graph_json

QUERY_PARAM = "graph"
# Browsers and proxies start refusing URLs somewhere past 32-64 KB; a 50-node graph packs into
# about 3 KB, so this bound costs honest users nothing.
MAX_TOKEN_CHARS = 32_000
SOURCE = "The share link"
_TOKEN_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def encode_graph(graph: dict) -> str:
    """The share token for a graph dict (any JSON value packs the same way: a lesson's link)."""
    compact = json.dumps(graph, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(zlib.compress(compact, 9)).decode("ascii").rstrip("=")


def share_url(base_url: str, token: str) -> str:
    """`base_url` (the app's address, without a query) with a share token in its query string."""
    return f"{base_url.rstrip('?')}?{urlencode({QUERY_PARAM: token})}"


def decode_graph(token: str) -> dict:
    """The checked graph dict inside a share token; raises GraphInputError saying what is wrong."""
    return parse_graph_json(unpack_token(token), source=SOURCE)


def unpack_token(token: str) -> bytes:
    """The bytes a token carries, its length and unpacked size bounded before anything is parsed;
    GraphInputError saying what is wrong."""
    token = token.strip().rstrip("=")  # padding is optional: accept links that kept it
    if not token:
        raise GraphInputError(f"{SOURCE} is empty: it carries no graph.")
    if len(token) > MAX_TOKEN_CHARS:
        raise GraphInputError(f"{SOURCE} is {len(token):,} characters long; at most "
                              f"{MAX_TOKEN_CHARS:,} are accepted.")
    if not _TOKEN_ALPHABET.fullmatch(token):
        raise GraphInputError(f"{SOURCE} contains characters that a LayerLoom link never has; it "
                              "was probably cut or changed when it was copied.")
    return _inflate(_unbase64(token))


def _unbase64(token: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        raise GraphInputError(f"{SOURCE} is damaged (its text is not valid base64); it was "
                              "probably cut when it was copied.") from None


def _inflate(packed: bytes) -> bytes:
    """Decompress at most MAX_GRAPH_BYTES + 1 bytes, so a zip bomb stops at the bound."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(packed, MAX_GRAPH_BYTES + 1)
    except zlib.error:
        raise GraphInputError(f"{SOURCE} is damaged (it does not decompress); it was probably "
                              "cut or changed when it was copied.") from None
    if len(data) > MAX_GRAPH_BYTES:
        raise GraphInputError(f"{SOURCE} unpacks to more than {MAX_GRAPH_BYTES:,} bytes; a graph "
                              "may be at most that large.")
    if not inflater.eof:
        raise GraphInputError(f"{SOURCE} is incomplete; it was probably cut when it was copied.")
    return data
