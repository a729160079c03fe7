"""The plain HTML page at `/`: one table per resource, as a person would see the CRM's data,
and small forms to act as a sales rep in the SSM app.

The forms create a company or a contact, or edit one (`/page/{accounts|contacts}/{id}`), or
create a quote: a sales order in the quote status with up to five lines of product and quantity
(`/page/salesorders/{id}` then shows it, and refreshes itself until the integration has priced it
and made it read-only). They write through the same store calls as the API's act-as routes
(`Store.create_as_rep`, `Store.update_as_rep`), so audit dates, `salesRepIdCreated`/
`salesRepIdUpdated`, required fields, lengths and the read-only refusal are exactly an API
write's; a rep's record has no extId and readOnly false. Server-rendered HTML, no script: every
value shown, the rep's own input included, goes through `html.escape`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sandbox.ssm.catalogue import RESOURCES
from sandbox.ssm.seed import API_USER_ID
from sandbox.ssm.store import Store, UnknownRecord, WriteRefused

MAX_ROWS_PER_TABLE = 500
# A form post is a few fields; anything bigger is not a person typing.
MAX_FORM_BYTES = 64 * 1024
_ALWAYS_SHOWN = ("readOnly", "deleted", "dateCreated", "dateUpdated")
_FORM_TYPE = "application/x-www-form-urlencoded"
ACTING_FIELD = "actingUserId"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
nav a { margin-right: .8rem; }
table { border-collapse: collapse; margin-bottom: 2rem; font-size: .85rem; }
th, td { border: 1px solid #ccc; padding: .25rem .45rem; text-align: left; vertical-align: top; }
th { background: #f0f0f0; position: sticky; top: 0; }
tr.deleted td { color: #999; text-decoration: line-through; }
tr.read-only td:first-child::after { content: " \\1F512"; }
.empty { color: #777; font-style: italic; }
.forms { display: flex; flex-wrap: wrap; gap: 2rem; margin-bottom: 2rem; }
form.rep { border: 1px solid #ccc; padding: .8rem 1rem; background: #fafafa; }
form.rep label { display: grid; grid-template-columns: 10rem 18rem; margin: .25rem 0; }
.notice { padding: .5rem .8rem; background: #e8f5e9; border: 1px solid #a5d6a7; }
.error { padding: .5rem .8rem; background: #ffebee; border: 1px solid #ef9a9a; }
"""


@dataclass(frozen=True)
class FormField:
    """One input of a rep's form: the API field it writes, and the list a select offers."""

    name: str
    label: str
    choices: str | None = None  # the resource whose records a select offers
    input_type: str = "text"


# What a rep fills in the SSM app for a company (issue 14 §4) and for a contact on one.
COMPANY_FORM = (
    FormField("name", "Company name"),
    FormField("statusId", "Status", choices="accountStatuses"),
    FormField("salesRepId1", "Sales rep", choices="users"),
    FormField("branchId", "Branch", choices="branches"),
    FormField("countryId", "Country", choices="countries"),
    FormField("address1", "Address line 1"),
    FormField("address2", "Address line 2"),
    FormField("city", "Town / city"),
    FormField("postcode", "Postcode"),
    FormField("phone", "Phone", input_type="tel"),
    FormField("email", "E-mail", input_type="email"),
    FormField("website", "Website"),
    FormField("vatNumber", "VAT number"),
)
CONTACT_FORM = (
    FormField("accountId", "Company", choices="accounts"),
    FormField("firstName", "First name"),
    FormField("lastName", "Last name"),
    FormField("email", "E-mail", input_type="email"),
    FormField("phone1", "Phone", input_type="tel"),
    FormField("phone2", "Mobile", input_type="tel"),
    FormField("salesRepId", "Sales rep", choices="users"),
    FormField("branchId", "Branch", choices="branches"),
)
FORMS: dict[str, tuple[FormField, ...]] = {"accounts": COMPANY_FORM, "contacts": CONTACT_FORM}
_TITLES = {"accounts": "company", "contacts": "contact"}
_DONE = {"created": "Created.", "saved": "Saved.", "unchanged": "Nothing changed: not saved."}

# A quote as a rep makes it in the SSM app (issue 15): a sales order in the quote status whose
# lines name a product and a quantity; Sage's prices come back through the integration.
QUOTE_FORM = (
    FormField("accountId", "Company", choices="accounts"),
    FormField("salesRepId", "Sales rep", choices="users"),
    FormField("branchId", "Branch", choices="branches"),
    FormField("statusId", "Status", choices="salesorderStatuses"),
    FormField("reference", "Reference"),
    FormField("comment", "Comment"),
)
QUOTE_LINES = 5
# The connector's default quote status (its setting SSM_QUOTE_STATUS), preselected on the form.
DEFAULT_QUOTE_STATUS = "Quote - pending"
QUOTE_REFRESH_SECONDS = 3
_LINE_COLUMNS = ("productId", "quantity", "price", "discount1", "total", "readOnly")


# --- the tables --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and "id" in value:
        label = value.get("value", value.get("description")) or ""
        return f"{escape(str(label))} <small>#{escape(str(value['id']))}</small>"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))


def _tables(store: Store) -> tuple[list[str], list[str]]:
    sections: list[str] = []
    nav: list[str] = []
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
                for c, on in (("deleted", row.get("deleted")), ("read-only", row.get("readOnly")))
                if on
            )
            cells = [f"<td>{_cell(row.get(c))}</td>" for c in columns[1:]]
            record_id = escape(str(row["id"]))
            if (name in FORMS or name == "salesorders") and not row.get("deleted"):
                first = f'<td><a href="/page/{name}/{record_id}">{record_id}</a></td>'
            else:
                first = f"<td>{record_id}</td>"
            body.append(f'<tr class="{classes}">{first}{"".join(cells)}</tr>')
        note = (
            f"<p>showing the newest {MAX_ROWS_PER_TABLE} of {len(records)}</p>"
            if len(records) > MAX_ROWS_PER_TABLE
            else ""
        )
        sections.append(
            f"{heading}{note}<table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>"
        )
    return nav, sections


# --- the forms ---------------------------------------------------------------------------------


def _choices(store: Store, resource: str) -> list[tuple[int, str]]:
    """(id, label) of the live records a select offers: active users, value-list rows, and
    the newest companies (a rep picks the company of a new contact)."""
    records = [r for r in store.all(RESOURCES[resource]) if not r.get("deleted")]
    if resource == "users":
        records = [r for r in records if r.get("isActive")]
    if resource == "accounts":
        records = sorted(records, key=lambda r: r["id"])[-MAX_ROWS_PER_TABLE:]
    return sorted(
        ((r["id"], store.label(resource, r["id"]) or f"#{r['id']}") for r in records),
        key=lambda choice: (choice[1].casefold(), choice[0]),
    )


def _select(name: str, choices: list[tuple[int, str]], chosen: str, disabled: str) -> str:
    options = ['<option value="">(none)</option>']
    for record_id, label in choices:
        selected = " selected" if str(record_id) == chosen else ""
        options.append(
            f'<option value="{record_id}"{selected}>{escape(label)} (#{record_id})</option>'
        )
    return f'<select name="{escape(name)}"{disabled}>{"".join(options)}</select>'


def _form(
    store: Store,
    resource: str,
    action: str,
    values: Mapping[str, str],
    *,
    button: str,
    read_only: bool = False,
) -> str:
    disabled = " disabled" if read_only else ""
    acting = values.get(ACTING_FIELD) or str(API_USER_ID + 1)  # the first seeded rep
    users = _choices(store, "users")
    rows = [
        f"<label>Acting as (rep){_select(ACTING_FIELD, users, acting, disabled)}</label>",
    ]
    for spec in FORMS[resource]:
        value = values.get(spec.name, "")
        if spec.choices:
            choices = users if spec.choices == "users" else _choices(store, spec.choices)
            control = _select(spec.name, choices, value, disabled)
        else:
            control = (
                f'<input type="{spec.input_type}" name="{spec.name}" '
                f'value="{escape(value)}"{disabled}>'
            )
        rows.append(f"<label>{escape(spec.label)}{control}</label>")
    return (
        f'<form class="rep" method="post" action="{escape(action)}" accept-charset="utf-8">'
        f'{"".join(rows)}<button type="submit"{disabled}>{escape(button)}</button></form>'
    )


def quote_status_name() -> str:
    """The status the form preselects: the connector's SSM_QUOTE_STATUS when set here."""
    return (os.environ.get("SSM_QUOTE_STATUS") or DEFAULT_QUOTE_STATUS).strip()


def _quote_choices(store: Store, resource: str) -> list[tuple[int, str]]:
    """A quote's selects: companies labelled with their Sage code (only a Sage customer can be
    quoted), products with their code and description."""
    if resource == "accounts":
        records = sorted(
            (r for r in store.all(RESOURCES["accounts"]) if not r.get("deleted")),
            key=lambda r: r["id"],
        )[-MAX_ROWS_PER_TABLE:]
        choices = [
            (r["id"], f"{r.get('name') or ''}" + (f" [{r['extId']}]" if r.get("extId") else ""))
            for r in records
        ]
    elif resource == "products":
        choices = [
            (r["id"], " – ".join(str(p) for p in (r.get("model"), r.get("description")) if p))
            for r in store.all(RESOURCES["products"])
            if not r.get("deleted") and not r.get("notAvailable")
        ]
    else:
        return _choices(store, resource)
    return sorted(choices, key=lambda choice: (choice[1].casefold(), choice[0]))


def _quote_form(store: Store, values: Mapping[str, str]) -> str:
    acting = values.get(ACTING_FIELD) or str(API_USER_ID + 1)
    users = _choices(store, "users")
    defaults: dict[str, str] = {"salesRepId": acting, "reference": "Quote"}
    wanted = quote_status_name().casefold()
    statuses = _choices(store, "salesorderStatuses")
    pending = next((str(i) for i, label in statuses if label.strip().casefold() == wanted), "")
    defaults["statusId"] = pending
    branches = _choices(store, "branches")
    if branches:
        defaults["branchId"] = str(branches[0][0])
    shown = values or defaults  # a refused form is shown again as the rep typed it
    rows = [f"<label>Acting as (rep){_select(ACTING_FIELD, users, acting, '')}</label>"]
    for spec in QUOTE_FORM:
        value = shown.get(spec.name, "")
        if spec.choices:
            choices = users if spec.choices == "users" else _quote_choices(store, spec.choices)
            control = _select(spec.name, choices, value, "")
        else:
            control = f'<input type="text" name="{spec.name}" value="{escape(value)}">'
        rows.append(f"<label>{escape(spec.label)}{control}</label>")
    products = _quote_choices(store, "products")
    for n in range(1, QUOTE_LINES + 1):
        product = _select(f"productId{n}", products, shown.get(f"productId{n}", ""), "")
        quantity = escape(shown.get(f"quantity{n}", ""))
        rows.append(
            f"<label>Line {n}: product, quantity<span>{product} "
            f'<input type="number" name="quantity{n}" value="{quantity}" step="1" '
            'style="width:5rem"></span></label>'
        )
    note = (
        "<p><small>Products and quantities only: Sage prices the quote (price lists, special "
        "prices, discounts, VAT) and the integration writes the prices back, read-only.</small>"
        "</p>"
    )
    return (
        '<form class="rep" method="post" action="/page/salesorders" accept-charset="utf-8">'
        f'{"".join(rows)}{note}<button type="submit">Create quote</button></form>'
    )


def render_quote(
    store: Store, order_id: int, *, notice: str | None = None, problem: str | None = None
) -> str:
    """A quote's page: the order and its lines as the API reads them. Until the integration
    has made it read-only it refreshes itself, so a person watches Sage's prices arrive."""
    orders, lines_resource = RESOURCES["salesorders"], RESOURCES["salesordersLines"]
    with store.lock:
        order = store.render(orders, store.get(orders, order_id))
        lines = sorted(
            (
                store.render(lines_resource, line)
                for line in store.all(lines_resource)
                if line.get("salesOrderId") == order_id and not line.get("deleted")
            ),
            key=lambda line: (line.get("order") or 0, line["id"]),
        )
    priced = bool(order.get("readOnly"))
    if priced:
        state = (
            f"<p>Priced by Sage: quotation <strong>{escape(str(order.get('extId') or ''))}"
            "</strong>. Read-only: a sales rep cannot change it (the integration owns it).</p>"
        )
    elif order.get("deleted"):
        state = "<p>Deleted.</p>"
    else:
        state = (
            "<p>Waiting for Sage's prices: this page reloads every "
            f"{QUOTE_REFRESH_SECONDS} s until the quote comes back priced and read-only.</p>"
        )
    summary = ("reference", "statusId", "accountId", "salesRepId", "currencyId", "total",
               "Z_NetTotal", "Z_TaxTotal", "extId", "readOnly", "Z_SageSync")  # fmt: skip
    head = "".join(
        f"<tr><th>{escape(key)}</th><td>{_cell(order.get(key))}</td></tr>"
        for key in summary
        if key in order
    )
    line_rows = "".join(
        "<tr>" + "".join(f"<td>{_cell(line.get(c))}</td>" for c in ("id", *_LINE_COLUMNS)) + "</tr>"
        for line in lines
    )
    line_table = (
        "<table><thead><tr>"
        + "".join(f"<th>{escape(c)}</th>" for c in ("line", *_LINE_COLUMNS))
        + f"</tr></thead><tbody>{line_rows}</tbody></table>"
        if lines
        else '<p class="empty">no lines</p>'
    )
    fields = "".join(
        f"<tr><th>{escape(key)}</th><td>{_cell(value)}</td></tr>" for key, value in order.items()
    )
    refresh = (
        f'<meta http-equiv="refresh" content="{QUOTE_REFRESH_SECONDS}">'
        if not priced and not order.get("deleted")
        else ""
    )
    title = f"Quote {order_id}"
    return _document(
        f"{title} – SSM sandbox",
        f'<p><a href="/">← all records</a></p><h1>{escape(title)}</h1>'
        f"{_message(notice, problem)}{state}<table><tbody>{head}</tbody></table>"
        f"<h2>Lines</h2>{line_table}<h2>As the API reads it</h2>"
        f"<table><tbody>{fields}</tbody></table>",
        head=refresh,
    )


def _document(title: str, body: str, head: str = "") -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"{head}<title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _message(notice: str | None, problem: str | None) -> str:
    if problem:
        return f'<p class="error" role="alert">{escape(problem)}</p>'
    if notice:
        return f'<p class="notice">{escape(notice)}</p>'
    return ""


def render_page(
    store: Store,
    *,
    problem: str | None = None,
    form: str | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """The whole page; `problem` and `values` re-show a refused create form (`form`)."""
    with store.lock:
        forms = "".join(
            f'<div id="new-{resource}"><h2>New {_TITLES[resource]}</h2>'
            + (_message(None, problem) if form == resource else "")
            + _form(
                store,
                resource,
                f"/page/{resource}",
                (values or {}) if form == resource else {},
                button=f"Create {_TITLES[resource]}",
            )
            + "</div>"
            for resource in FORMS
        )
        forms += (
            '<div id="new-quote"><h2>New quote</h2>'
            + (_message(None, problem) if form == "salesorders" else "")
            + _quote_form(store, (values or {}) if form == "salesorders" else {})
            + "</div>"
        )
        nav, sections = _tables(store)
    return _document(
        "SSM sandbox",
        "<h1>Sage Sales Management sandbox</h1>"
        "<p>What the CRM holds now. API: <code>/api/v4</code>; control: <code>/sandbox/…</code>."
        " Act as a sales rep below; click a company's or contact's id to edit it, a sales "
        "order's id to watch a quote come back priced.</p>"
        f'<section class="forms" id="act-as-rep">{forms}</section>'
        f"<nav>{''.join(nav)}</nav>{''.join(sections)}",
    )


def render_record(
    store: Store,
    resource: str,
    record_id: int,
    *,
    notice: str | None = None,
    problem: str | None = None,
    values: Mapping[str, str] | None = None,
) -> str:
    """A company's or contact's page: what the API reads, and the rep's edit form."""
    spec = RESOURCES[resource]
    with store.lock:
        record = store.get(spec, record_id)
        rendered = store.render(spec, record)
        shown = values if values is not None else _form_values(record, resource)
        read_only = bool(record.get("readOnly")) or bool(record.get("deleted"))
        form = _form(
            store,
            resource,
            f"/page/{resource}/{record_id}",
            shown,
            button="Save",
            read_only=read_only,
        )
    why = ""
    if record.get("readOnly"):
        why = "<p>Read-only: a sales rep cannot change it (the integration owns it).</p>"
    elif record.get("deleted"):
        why = "<p>Deleted: it cannot be changed.</p>"
    fields = "".join(
        f"<tr><th>{escape(key)}</th><td>{_cell(value)}</td></tr>" for key, value in rendered.items()
    )
    title = f"{_TITLES[resource].capitalize()} {record_id}"
    return _document(
        f"{title} – SSM sandbox",
        f'<p><a href="/">← all records</a></p><h1>{escape(title)}</h1>'
        f"{_message(notice, problem)}{why}{form}<h2>As the API reads it</h2>"
        f"<table><tbody>{fields}</tbody></table>",
    )


def _form_values(record: Mapping[str, Any], resource: str) -> dict[str, str]:
    """A stored record as form text (foreign keys are stored as ids)."""
    return {
        spec.name: "" if record.get(spec.name) is None else str(record[spec.name])
        for spec in FORMS[resource]
    }


# --- what a form post writes -------------------------------------------------------------------


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body (the only kind the page's forms send), last value per name."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != _FORM_TYPE:
        raise WriteRefused(f"send the form as {_FORM_TYPE}", status=415)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise WriteRefused(f"a form is at most {MAX_FORM_BYTES} bytes", status=413)
    # Invalid UTF-8 becomes U+FFFD, so no lone surrogate can reach the store.
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def _acting_user(form: Mapping[str, str]) -> int:
    return _form_id(ACTING_FIELD, form.get(ACTING_FIELD, ""), "a rep to act as") or 0


def _form_id(name: str, text: str, what: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise WriteRefused(f"choose {what} from the list", field=name)
    return int(text)


def _typed(spec: FormField, text: str) -> Any:
    """A form value as the API takes it: a chosen id as an integer, blank text as unset."""
    if spec.choices:
        return _form_id(spec.name, text, f"the {spec.label.lower()}")
    return text if text.strip() else None


def create_from_form(store: Store, resource: str, form: Mapping[str, str]) -> int:
    """A rep's create: the filled-in fields only, as the app sends them."""
    data: dict[str, Any] = {}
    for spec in FORMS[resource]:
        value = _typed(spec, form.get(spec.name, ""))
        if value is not None:
            data[spec.name] = value
    return store.create_as_rep(RESOURCES[resource], data, _acting_user(form))


def update_from_form(store: Store, resource: str, record_id: int, form: Mapping[str, str]) -> bool:
    """A rep's edit: only the fields whose value changed are written (a partial update, so an
    untouched record keeps its dateUpdated); a field emptied is cleared. False: nothing to do."""
    spec_resource = RESOURCES[resource]
    with store.lock:
        record = store.get(spec_resource, record_id)
        changes = {
            spec.name: value
            for spec in FORMS[resource]
            if spec.name in form
            and (value := _typed(spec, form[spec.name])) != (record.get(spec.name) or None)
        }
        if not changes:
            return False
        store.update_as_rep(spec_resource, record_id, changes, _acting_user(form))
        return True


def _quote_lines(store: Store, form: Mapping[str, str]) -> list[dict[str, Any]]:
    """The filled-in lines of a quote form, checked before anything is written (the store has
    no rollback: an order must not be left without the lines the rep typed)."""
    lines: list[dict[str, Any]] = []
    products = store.records["products"]
    for n in range(1, QUOTE_LINES + 1):
        product_text = form.get(f"productId{n}", "")
        quantity_text = form.get(f"quantity{n}", "").strip()
        product = _form_id(f"productId{n}", product_text, f"line {n}'s product")
        if product is None and not quantity_text:
            continue
        if product is None:
            raise WriteRefused(f"line {n} has a quantity but no product", field=f"productId{n}")
        if product not in products or products[product].get("deleted"):
            raise WriteRefused(f"line {n}: product {product} does not exist", field=f"productId{n}")
        # SSM's quantity is a whole number; zero or less is taken, as the app does, and the
        # integration refuses it with its reason on the order.
        digits = quantity_text.removeprefix("-")
        if not digits.isascii() or not digits.isdigit() or len(digits) > 9:
            raise WriteRefused(
                f"line {n}: the quantity must be a whole number", field=f"quantity{n}"
            )
        lines.append({"productId": product, "quantity": int(quantity_text), "order": n})
    if not lines:
        raise WriteRefused("add at least one line: a product and its quantity", field="productId1")
    return lines


def create_quote_from_form(store: Store, form: Mapping[str, str]) -> int:
    """A rep's quote: the order in the chosen (quote) status, then its lines with price 0 (the
    API requires a price; the integration writes Sage's), in one store transaction."""
    rep = _acting_user(form)
    order: dict[str, Any] = {}
    for spec in QUOTE_FORM:
        value = _typed(spec, form.get(spec.name, ""))
        if value is not None:
            order[spec.name] = value
    lines_resource = RESOURCES["salesordersLines"]
    with store.batch():
        store.check_rep(rep)
        store.check_write(RESOURCES["salesorders"], order, creating=True)
        lines = _quote_lines(store, form)
        order_id = store.create_as_rep(RESOURCES["salesorders"], order, rep)
        for line in lines:
            store.create_as_rep(lines_resource, {"salesOrderId": order_id, **line, "price": 0}, rep)
    return order_id


# --- the routes --------------------------------------------------------------------------------


class RepPages:
    """`/` and `/page/...`: never rate-limited or faulted, like the control routes."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def home(self, request: Request) -> Response:
        return HTMLResponse(render_page(self.store))

    async def create(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        if resource not in FORMS and resource != "salesorders":
            return HTMLResponse(_not_found(), status_code=404)
        form: dict[str, str] = {}
        try:
            form = await read_form(request)
            if resource == "salesorders":
                record_id = create_quote_from_form(self.store, form)
            else:
                record_id = create_from_form(self.store, resource, form)
        except WriteRefused as exc:
            page = render_page(self.store, problem=str(exc), form=resource, values=form)
            return HTMLResponse(page, status_code=exc.status)
        except UnknownRecord as exc:
            page = render_page(self.store, problem=str(exc), form=resource, values=form)
            return HTMLResponse(page, status_code=400)
        return RedirectResponse(f"/page/{resource}/{record_id}?done=created", status_code=303)

    async def record(self, request: Request) -> Response:
        resource = request.path_params["resource"]
        raw_id = request.path_params["record_id"]
        record_id = int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 10 else 0
        if resource == "salesorders" and record_id in self.store.records[resource]:
            if request.method != "GET":  # a quote is never edited on the page: Sage prices it
                return HTMLResponse(_not_found(), status_code=405)
            notice = _DONE.get(request.query_params.get("done", ""))
            return HTMLResponse(render_quote(self.store, record_id, notice=notice))
        if resource not in FORMS or record_id not in self.store.records[resource]:
            return HTMLResponse(_not_found(), status_code=404)
        if request.method == "GET":
            notice = _DONE.get(request.query_params.get("done", ""))
            return HTMLResponse(render_record(self.store, resource, record_id, notice=notice))
        form: dict[str, str] = {}
        try:
            form = await read_form(request)
            changed = update_from_form(self.store, resource, record_id, form)
        except WriteRefused as exc:
            page = render_record(
                self.store, resource, record_id, problem=str(exc), values=form or None
            )
            return HTMLResponse(page, status_code=exc.status)
        done = "saved" if changed else "unchanged"
        return RedirectResponse(f"/page/{resource}/{record_id}?done={done}", status_code=303)


def _not_found() -> str:
    return _document("Not found – SSM sandbox", '<p>No such page. <a href="/">All records</a></p>')
