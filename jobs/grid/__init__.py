"""The account grid: its columns (shared with exports), one page of accounts sorted on the
server over the whole filtered table, and each user's remembered column choice."""

from __future__ import annotations

from jobs.grid.columns import COLUMNS, CORE, OPTIONAL, SENSITIVE, Column, column
from jobs.grid.query import GridPage, grid_page

__all__ = ["COLUMNS", "CORE", "OPTIONAL", "SENSITIVE", "Column", "GridPage", "column", "grid_page"]
