"""Cells a spreadsheet would run as a formula, written so it shows them as text instead.

A product name such as `=HYPERLINK("http://evil", "click")` or `+cmd|' /C calc'!A0` is
harmless in the database but runs when a merchant opens the exported CSV in Excel. OWASP's
advice is followed: a cell starting with `=`, `+`, `-`, `@`, tab or carriage return gets a
leading apostrophe, which spreadsheets read as "this is text" and do not display. The CSV
reader removes exactly that apostrophe again, so an export imports back unchanged.
"""

from __future__ import annotations

TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MARK = "'"


def neutralise(cell: str) -> str:
    return MARK + cell if cell.startswith(TRIGGERS) else cell


def restore(cell: str) -> str:
    """A cell as written before `neutralise` (a cell of another origin is left as it is,
    unless it too starts with an apostrophe before a trigger: Excel would hide that one)."""
    if cell.startswith(MARK) and cell[1:].startswith(TRIGGERS):
        return cell[1:]
    return cell
