"""Small HTML helpers shared by the map and the report: escaping and atomic writes."""

from __future__ import annotations

import html
import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Final

__all__ = ["esc", "table", "write_text_atomic"]

_NUMBER: Final = re.compile(r"^[+\-−≥]?[\d,.]+%?$|^–$")
_JS_UNSAFE: Final = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;"})


def esc(value: object) -> str:
    """Escape text for HTML, also where it may end up inside a JavaScript template string.

    Besides ``html.escape`` (``<``, ``>``, ``&``, quotes), the characters that could end or run
    code inside a JavaScript template string (backtick, ``$``, backslash) become HTML entities,
    which a browser shows as the plain characters.

    Parameters
    ----------
    value : object
        Any value; it is converted with ``str`` first.

    Returns
    -------
    str
        Text safe to place in HTML element content or a quoted attribute.
    """
    return html.escape(str(value), quote=True).translate(_JS_UNSAFE)


def table(
    rows: Iterable[Iterable[object]],
    *,
    header: Iterable[object] | None = None,
    css_class: str = "",
) -> str:
    """An HTML table; every cell is escaped here.

    Parameters
    ----------
    rows : iterable of iterables
        Cell values, one iterable per row; the first cell of a row is its heading (``<th>``).
        Cells that look like numbers get ``class="n"`` (right-aligned by the page's style).
    header : iterable, optional
        Column headings.
    css_class : str, default ""
        Class of the ``<table>`` element (a constant from the code, not data).

    Returns
    -------
    str
        The table's HTML.
    """
    head = (
        "" if header is None else "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<th>{esc(cell)}</th>"
            if i == 0
            else f'<td class="n">{esc(cell)}</td>'
            if _NUMBER.match(str(cell))
            else f"<td>{esc(cell)}</td>"
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    cls = f' class="{esc(css_class)}"' if css_class else ""
    return f"<table{cls}>{head}{body}</table>"


def write_text_atomic(text: str, path: str | Path) -> Path:
    """Write a text file atomically (UTF-8).

    The text goes to a temporary file in the same folder, which is then moved over `path`, so a
    reader never sees a half-written file and a failed write leaves no temporary file behind.

    Parameters
    ----------
    text : str
        The file's content.
    path : str or pathlib.Path
        Where to write; its folder must exist.

    Returns
    -------
    pathlib.Path
        `path`.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
