"""The canonical entities an export is mapped onto, and the type of every field.

This table is the contract between `config.yaml` (which names export columns for these
fields), the readers (which parse each value by its type) and the model (which reads the
parsed fields by these names). Adding a field here is all it takes to make it mappable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT = "text"
DATE = "date"
DECIMAL = "decimal"
BOOL = "bool"
EMAIL = "email"
URL = "url"  # https:, http: or mailto: only (config/urls.py)

ADDRESS_PARTS = ("name", "street", "city", "postal_code", "region", "country")


def address(prefix: str) -> dict[str, str]:
    return {f"{prefix}_{part}": TEXT for part in ADDRESS_PARTS}


LINE_FIELDS: dict[str, str] = {
    "document": TEXT,  # the parent's number, when lines come from a file of their own
    "sku": TEXT,
    "description": TEXT,
    "quantity": DECIMAL,
    "unit": TEXT,
    "unit_price": DECIMAL,
    "discount": DECIMAL,  # an amount off the line
    "discount_rate": DECIMAL,  # a fraction off the line: 0.15 is 15 %
    "discount_percent": DECIMAL,  # a percentage off the line: 15 is 15 %
    "tax": DECIMAL,
    "total": DECIMAL,
}


@dataclass(frozen=True)
class Entity:
    name: str
    key: str | None
    fields: dict[str, str]
    required: tuple[str, ...]
    has_lines: bool = False
    line_required: tuple[str, ...] = field(default=())


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "customers",
            key="id",
            fields={
                "id": TEXT,
                "name": TEXT,
                "email": EMAIL,
                "phone": TEXT,
                **address("billing"),
                **address("shipping"),
                "language": TEXT,
                "currency": TEXT,
                "portal_enabled": BOOL,
                "group": TEXT,
                "sales_rep": TEXT,
                "sales_rep_email": EMAIL,
                "sales_rep_phone": TEXT,
                "payment_terms": TEXT,
                "price_group": TEXT,
                "slug": TEXT,
            },
            required=("id", "name"),
        ),
        Entity(
            "contacts",
            key=None,
            fields={
                "customer": TEXT,
                "name": TEXT,
                "email": EMAIL,
                "phone": TEXT,
                "role": TEXT,
                "portal_access": BOOL,
                "notifications": BOOL,  # no: this contact gets no `portico notify` e-mail (invitations still)
            },
            required=("customer", "name"),
        ),
        Entity(
            "orders",
            key="number",
            fields={
                "number": TEXT,
                "customer": TEXT,
                "date": DATE,
                "status": TEXT,
                "promised_date": DATE,
                "shipped_date": DATE,
                "carrier": TEXT,
                **address("ship_to"),
                "po_number": TEXT,
                "sales_rep": TEXT,
                "notes": TEXT,
                "shipping": DECIMAL,
                "tax": DECIMAL,
                "total": DECIMAL,
            },
            required=("number", "customer", "date"),
            has_lines=True,
            line_required=("quantity", "unit_price"),
        ),
        Entity(
            "order_history",
            key=None,
            fields={"order": TEXT, "status": TEXT, "date": DATE},
            required=("order", "status", "date"),
        ),
        Entity(
            "invoices",
            key="number",
            fields={
                "number": TEXT,
                "customer": TEXT,
                "order": TEXT,
                "date": DATE,
                "due_date": DATE,
                "status": TEXT,
                "total": DECIMAL,
                "tax": DECIMAL,
                "paid": DECIMAL,
                "payment_link": URL,
            },
            required=("number", "customer", "date"),
            has_lines=True,
            line_required=("quantity", "unit_price"),
        ),
        Entity(
            "payments",
            key=None,
            fields={
                "customer": TEXT,
                "invoice": TEXT,
                "date": DATE,
                "amount": DECIMAL,
                "method": TEXT,
                "reference": TEXT,
            },
            required=("date", "amount"),
        ),
        Entity(
            "shipments",
            key=None,
            fields={
                "order": TEXT,
                "customer": TEXT,
                "date": DATE,
                "carrier": TEXT,
                "tracking_number": TEXT,
                "tracking_url": URL,
                "status": TEXT,
            },
            required=("order", "date"),
        ),
        Entity(
            "quotes",
            key="number",
            fields={
                "number": TEXT,
                "customer": TEXT,
                "date": DATE,
                "valid_until": DATE,
                "status": TEXT,
                "total": DECIMAL,
                "notes": TEXT,
            },
            required=("number", "customer", "date"),
            has_lines=True,
            line_required=("quantity", "unit_price"),
        ),
        Entity(
            "documents",
            key=None,
            fields={"customer": TEXT, "order": TEXT, "invoice": TEXT, "title": TEXT, "file": TEXT, "date": DATE},
            required=("customer", "title", "file"),
        ),
        Entity(
            "catalogue",
            key="sku",
            fields={
                "sku": TEXT,
                "name": TEXT,
                "description": TEXT,
                "unit": TEXT,
                "list_price": DECIMAL,
                "stock": DECIMAL,
                "min_quantity": DECIMAL,  # the least a customer may order
            },
            required=("sku", "name"),
        ),
        Entity(
            "prices",
            key=None,
            fields={"customer": TEXT, "price_group": TEXT, "sku": TEXT, "price": DECIMAL, "min_quantity": DECIMAL},
            required=("sku", "price"),
        ),
    )
}

#: Entities that give a customer something to look at; an export needs at least one.
DOCUMENT_KINDS = ("orders", "invoices", "quotes")
