"""The labels a customer reads that the generator itself declares: states, sections, columns,
activity kinds. Each is marked with `N_()` where it is declared, so `pybabel extract` finds it,
and translated where it is shown, in the customer's language."""

from __future__ import annotations

from ..config.words import N_

__all__ = ["N_", "activity_label", "state_label"]


STATE_LABELS = {
    "received": N_("Received"),
    "confirmed": N_("Confirmed"),
    "in_production": N_("In production"),
    "shipped": N_("Shipped"),
    "delivered": N_("Delivered"),
    "cancelled": N_("Cancelled"),
    "open": N_("Open"),
    "paid": N_("Paid"),
    "overdue": N_("Overdue"),
    "void": N_("Void"),
    "credit_note": N_("Credit note"),
    "accepted": N_("Accepted"),
    "declined": N_("Declined"),
    "expired": N_("Expired"),
    "pending": N_("Pending"),
    "in_transit": N_("In transit"),
    "returned": N_("Returned"),
}

ACTIVITY_LABELS = {
    "order": N_("Order"),
    "invoice": N_("Invoice"),
    "credit_note": N_("Credit note"),
    "payment": N_("Payment"),
    "shipment": N_("Shipment"),
    "quote": N_("Quote"),
    "document": N_("Document"),
    "recorded": N_("Paid, as recorded on the invoice"),
}


def state_label(state: str) -> str:
    """The label of an order stage or a document's state; an unknown one is shown as it is."""
    return STATE_LABELS.get(state, state)


def activity_label(kind: str) -> str:
    return ACTIVITY_LABELS[kind]
