"""CSV imports as jobs (issue 11): a file's rows are a job's items.

- ``specs``: the one place each import type's columns are declared (validation, help text,
  template file);
- ``reading``: encodings, delimiters and headings of a file; ``staging``: its rows, read by
  pandas in chunks, typed and staged set-based into ``import_rows``;
- ``actions``: one import action per type (match, validate in SQL, apply per chunk);
- ``tasks``: what the All System Tasks screens, the CLI and notebooks read and do;
- ``storage`` and ``folder``: where uploaded files live, and the file-in folder.
"""
