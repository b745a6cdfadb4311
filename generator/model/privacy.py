"""Hidden fields: what a customer's settings keep out of their portal is blanked in their book,
so no template, list or download can show it, whatever the theme does."""

from __future__ import annotations

from .canonical import ZERO, CustomerBook


def hide_fields(book: CustomerBook, hidden: list[str]) -> None:
    """Blank the fields a customer's settings hide, so no template or download can show them."""
    if not hidden:
        return
    hide = set(hidden)
    documents = [*book.orders, *book.invoices, *book.quotes]
    if "sales_rep" in hide:
        book.customer.sales_rep = None
        for order in book.orders:
            order.sales_rep = ""
    if "payment_terms" in hide:
        book.customer.payment_terms = ""
    for order in book.orders:
        if "po_number" in hide:
            order.po_number = ""
        if "promised_date" in hide:
            order.promised_date = None
        if "notes" in hide:
            order.notes = ""
    if "notes" in hide:
        for quote_ in book.quotes:
            quote_.notes = ""
    if "payment_method" in hide:
        for payment in book.payments:
            payment.method = ""
    for document in documents:
        if "tax" in hide and hasattr(document, "tax"):
            document.tax = ZERO
        for line in document.lines:
            if "unit_price" in hide:
                line.unit_price = ZERO
            if "discount" in hide:
                line.discount = ZERO
            if "tax" in hide:
                line.tax = ZERO
