"""The one error a merchant sees for a bad catalog: which row, which column, and why."""

from __future__ import annotations


class CatalogError(Exception):
    """A problem in a catalog file; `row` is None when it concerns the whole file.

    Rows are counted as a spreadsheet shows them: in CSV and XLSX the header is usually
    row 1, so the first product is row 2 (a shop export's title rows above the header
    count too); in JSON the first object is row 1.
    """

    def __init__(self, row: int | None, column: str | None, reason: str) -> None:
        self.row = row
        self.column = column
        self.reason = reason
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"row {self.row}"] if self.row is not None else ["file"]
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"

    def __repr__(self) -> str:
        return f"CatalogError(row={self.row!r}, column={self.column!r}, reason={self.reason!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CatalogError):
            return NotImplemented
        return (self.row, self.column, self.reason) == (other.row, other.column, other.reason)

    def __hash__(self) -> int:
        return hash((self.row, self.column, self.reason))
