"""User-provided text (class names, run names, CSV columns) shown inside plotly figures."""
import html


def plain(text) -> str:
    """Escape `text` so plotly shows it literally.

    Plotly interprets a subset of HTML in titles, names and annotations (<a href>, <b>, <br>);
    a class name or run name typed by a user must never become markup.
    """
    return html.escape(str(text), quote=False)
