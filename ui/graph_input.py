"""Turn graph JSON from outside the session (an upload, a share link) into a checked graph dict.

Everything here treats its input as hostile: the size is bounded before parsing, every failure
becomes one `GraphInputError` whose message says what is wrong and where, and nothing is ever
unpickled or evaluated. The caller keeps the current graph whenever this raises.
"""
import json

from builder import GraphError, load_graph
from builder.plain_values import PlainValueError, loads_plain

# A 200-node graph with its layout is about 60 KB of JSON; a megabyte leaves ample room while
# keeping a hostile file from tying up the server.
MAX_GRAPH_BYTES = 1_000_000
MAX_PROBLEMS_SHOWN = 5


class GraphInputError(ValueError):
    """Graph input that cannot be loaded; the message is meant for the person who provided it."""


def parse_graph_json(data: bytes | str, *, source: str) -> dict:
    """Check and load graph JSON; returns the graph as a plain dict (the file format).

    `source` names where the data came from ("the uploaded file", "the share link") so the
    message can say so.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_GRAPH_BYTES:
        raise GraphInputError(f"{source} is {len(raw):,} bytes; a graph file may be at most "
                              f"{MAX_GRAPH_BYTES:,} bytes.")
    document = _decode_json(raw, source)
    if not isinstance(document, dict):
        raise GraphInputError(f"{source} holds JSON {type(document).__name__}, not a graph: a "
                              "graph file is a JSON object with \"nodes\" and \"edges\".")
    try:
        return load_graph(document).to_dict()
    except GraphError as error:
        message = f"{source} is not a valid graph: {describe_problems(error)}"
        raise GraphInputError(message) from None


def describe_problems(error: GraphError) -> str:
    """One sentence of the first few problems of a GraphError.

    Each builder message already names its layer, node and field (Keras style), so it is used as
    it is: prefixing them again read "field 'nodes': nodes: ...".
    """
    lines = [problem.message for problem in error.problems[:MAX_PROBLEMS_SHOWN]]
    hidden = len(error.problems) - MAX_PROBLEMS_SHOWN
    if hidden > 0:
        lines.append(f"and {hidden} more")
    text = "; ".join(lines) or str(error)
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _decode_json(raw: bytes, source: str):
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise GraphInputError(f"{source} is not UTF-8 text (byte {error.start} cannot be decoded); "
                              "a graph file is JSON.") from None
    try:
        return loads_plain(text)
    except PlainValueError as error:  # NaN/Infinity or a number beyond 2^63, with its place
        raise GraphInputError(f"{source} is not a valid graph: {error}.") from None
    except json.JSONDecodeError as error:
        raise GraphInputError(f"{source} is not valid JSON: {error.msg} at line {error.lineno}, "
                              f"column {error.colno}.") from None
    except RecursionError:
        raise GraphInputError(f"{source} nests JSON too deeply to be a graph file.") from None
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        raise GraphInputError(f"{source} holds a value that cannot be read: {error}.") from None
