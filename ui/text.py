"""Showing text that people typed (node ids, graph names) safely inside Streamlit Markdown."""
import re

# Every ASCII punctuation character may be backslash-escaped in CommonMark, so escaping all of the
# ones Markdown (and Streamlit's :color[...] / :icon: directives) give meaning to shows the text
# literally: a node called "![x](http://...)" stays text instead of becoming an image.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")
# Streamlit finds :material/icon: and :emoji: codes in the text *after* Markdown is parsed, so a
# backslash does not stop them; an invisible word joiner after the colon does.
_DIRECTIVE_COLON = re.compile(r":(?=[\w+-])")
WORD_JOINER = "\u2060"


def escape_markdown(text: object) -> str:
    """`text` as Markdown that renders exactly those characters, on one line."""
    one_line = _DIRECTIVE_COLON.sub(":" + WORD_JOINER, " ".join(str(text).split()))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one_line)
