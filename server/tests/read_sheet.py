"""Reads an XLSX (openpyxl) or a CSV (Python's csv, as Excel would) and
prints every sheet's cells as JSON, so the Rust tests can check exports cell
by cell with a reader that is not ours.

Usage: python read_sheet.py FILE
Output: {"sheets": {"name": [[cell, ...], ...]}, "bom": bool}
"""
import csv
import io
import json
import sys

path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()

out = {"sheets": {}, "bom": data.startswith(b"\xef\xbb\xbf")}
if data.startswith(b"PK\x03\x04"):
    import openpyxl  # the test command installs it (tests/requirements-test.txt)

    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=False)
    for ws in wb.worksheets:
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(["" if v is None else v for v in row])
        out["sheets"][ws.title] = rows
        out.setdefault("print", {})[ws.title] = {
            "landscape": ws.page_setup.orientation == "landscape",
            "paper": ws.page_setup.paperSize,
            "freeze": ws.freeze_panes,
        }
else:
    text = data.decode("utf-8-sig")
    out["sheets"]["csv"] = [row for row in csv.reader(io.StringIO(text, newline=""))]
json.dump(out, sys.stdout, ensure_ascii=False, default=str)
