"""One self-contained HTML page: figures embedded as base64 PNG data URIs, tables as HTML."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
img { max-width: 100%; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: right; }
th { background: #f0f0f0; position: sticky; top: 0; }
tr.best td { background: #fff3c4; font-weight: bold; }
tr.bad td { color: #a00; }
.facts { color: #555; }
"""


def data_uri(png: Path) -> str:
    """The PNG file as a `data:` URI, so the page needs no other file."""
    return "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii")


def table_html(frame: pd.DataFrame, row_classes: Sequence[str] = ()) -> str:
    """An HTML table of `frame` (numbers to 4 significant digits, empty cells for missing)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = []
    for i, row in enumerate(frame.itertuples(index=False)):
        cls = f' class="{row_classes[i]}"' if i < len(row_classes) and row_classes[i] else ""
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def page(title: str, facts: str, sections: Sequence[tuple[str, str]]) -> str:
    """A page of (heading, HTML body) sections under a title and a line of facts."""
    parts = [f"<h2>{html.escape(h)}</h2>\n{body}" for h, body in sections]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n<p class=\"facts\">{html.escape(facts)}</p>\n"
        + "\n".join(parts)
        + "\n</body></html>\n"
    )


def figure_html(png: Path, alt: str) -> str:
    return f'<img src="{data_uri(png)}" alt="{html.escape(alt)}">'


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
