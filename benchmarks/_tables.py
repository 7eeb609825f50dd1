"""Markdown and reStructuredText tables shared by the benchmark scripts."""

from __future__ import annotations


def markdown(header, body):
    """A markdown table from a header row and body rows (lists of strings)."""
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return "\n".join(lines)


def rst(header, body):
    """The same table as an RST ``csv-table`` (markdown emphasis dropped)."""

    def row(cells):
        return ", ".join('"{}"'.format(c.replace("*", "")) for c in cells)

    lines = [".. csv-table::", "   :header: " + row(header), ""]
    lines += ["   " + row(r) for r in body]
    return "\n".join(lines) + "\n"


def markdown_to_rst(text):
    """Convert a table written by :func:`markdown` (or by hand) to RST."""
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    return rst(rows[0], rows[1:])
