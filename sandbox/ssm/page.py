"""The plain HTML page at `/`: one table per resource, as a person would see the CRM's data."""

from __future__ import annotations

from html import escape
from typing import Any

from sandbox.ssm.catalogue import RESOURCES
from sandbox.ssm.store import Store

MAX_ROWS_PER_TABLE = 500
_ALWAYS_SHOWN = ("readOnly", "deleted", "dateCreated", "dateUpdated")

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
nav a { margin-right: .8rem; }
table { border-collapse: collapse; margin-bottom: 2rem; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
tr.deleted td { color: #999; text-decoration: line-through; }
tr.read-only td:first-child::after { content: " \\1F512"; }
.empty { color: #777; font-style: italic; }
"""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "id" in value:
        label = value.get("value", value.get("description")) or ""
        return f"{escape(str(label))} <small>#{escape(str(value['id']))}</small>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def render_page(store: Store) -> str:
    sections: list[str] = []
    nav: list[str] = []
    with store.lock:
        for name, resource in RESOURCES.items():
            records = sorted(store.all(resource), key=lambda r: r["id"])
            nav.append(f'<a href="#{name}">{name} ({len(records)})</a>')
            shown = records[-MAX_ROWS_PER_TABLE:]
            rows = [store.render(resource, r) for r in shown]
            heading = f'<h2 id="{name}">{name} <small>({len(records)} records)</small></h2>'
            if not rows:
                sections.append(heading + '<p class="empty">no records</p>')
                continue
            columns = ["id"] + [
                key
                for key in rows[0]
                if key != "id"
                and key not in _ALWAYS_SHOWN
                and any(row.get(key) not in (None, "") for row in rows)
            ]
            extra_z = sorted({k for row in rows for k in row if k.startswith("Z_")} - set(columns))
            columns += extra_z + list(_ALWAYS_SHOWN)
            head = "".join(f"<th>{escape(c)}</th>" for c in columns)
            body = []
            for row in rows:
                classes = " ".join(
                    c
                    for c, on in (
                        ("deleted", row.get("deleted")),
                        ("read-only", row.get("readOnly")),
                    )
                    if on
                )
                cells = "".join(f"<td>{_cell(row.get(c))}</td>" for c in columns)
                body.append(f'<tr class="{classes}">{cells}</tr>')
            note = (
                f"<p>showing the newest {MAX_ROWS_PER_TABLE} of {len(records)}</p>"
                if len(records) > MAX_ROWS_PER_TABLE
                else ""
            )
            sections.append(
                f"{heading}{note}<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(body)}</tbody></table>"
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>SSM sandbox</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Sage Sales Management sandbox</h1>"
        "<p>What the CRM holds now. API: <code>/api/v4</code>; control: <code>/sandbox/…</code>.</p>"
        f"<nav>{''.join(nav)}</nav>{''.join(sections)}</body></html>"
    )
