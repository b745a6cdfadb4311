"""Payments to invoices: what each invoice has been paid, what is left as credit on account, and
the account's movements, which the statement lists with a running balance.

A payment that names an invoice pays that invoice first. What it pays beyond the invoice's
total, and every payment that names no invoice, pays the customer's other open invoices, oldest
due first (`exports.payments.allocate: oldest_first`, the default); what is still left is credit
on account. An invoice whose paid amount the export states (a `paid` column, or status paid with
no payments) keeps that amount and takes no allocation; so do void invoices and credit notes.
With `allocate: none`, payments naming no invoice are listed and count for nothing, and each
invoice is paid what the payments naming it add up to.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from .canonical import ZERO, CustomerBook, Invoice, Movement, Payment

OLDEST_FIRST, NONE = "oldest_first", "none"


@dataclass(slots=True)
class Unapplied:
    """What is left of a payment after paying the invoices it was applied to."""

    payment: Payment
    amount: Decimal


class Allocation:
    """Settles one customer's book: invoices' `paid` and `payments`, `credit`, `account`."""

    def __init__(self, book: CustomerBook, allocate: str):
        self.book = book
        self.allocate = allocate
        self.counted: defaultdict[int, Decimal] = defaultdict(Decimal)  # id(payment) -> what of it counts

    def settle(self) -> None:
        left: list[Unapplied] = []
        derived: list[Invoice] = []  # invoices whose paid amount comes from the payments applied here
        for invoice in self.book.invoices:
            named, invoice.payments = sorted(invoice.payments, key=received), []
            if self.stated_by_export(invoice, named):
                self.keep_as_stated(invoice, named)
                continue
            derived.append(invoice)
            invoice.paid = ZERO
            for payment in named:
                taken = self.apply(invoice, payment, payment.amount)
                if payment.amount - taken > 0:
                    left.append(Unapplied(payment, payment.amount - taken))
        if self.allocate == OLDEST_FIRST:
            left += [Unapplied(p, p.amount) for p in self.book.payments if not p.invoice_number and p.amount > 0]
            left.sort(key=lambda u: received(u.payment))
            self.oldest_first(left, derived)
            for unapplied in left:
                self.counted[id(unapplied.payment)] += unapplied.amount  # credit on account
            self.book.credit = sum((u.amount for u in left), ZERO)
        self.book.account = self.movements()

    def stated_by_export(self, invoice: Invoice, named: list[Payment]) -> bool:
        if self.allocate == NONE or invoice.status == "void" or invoice.kind == "credit_note":
            return True
        return invoice.paid is not None or (invoice.status == "paid" and not named)

    def keep_as_stated(self, invoice: Invoice, named: list[Payment]) -> None:
        invoice.payments = named
        if invoice.paid is None:
            paid_by_status = invoice.status == "paid" and not named
            invoice.paid = invoice.total if paid_by_status else sum((p.amount for p in named), ZERO)
        if invoice.status != "void":
            for payment in named:
                self.counted[id(payment)] += payment.amount

    def oldest_first(self, left: list[Unapplied], invoices: list[Invoice]) -> None:
        """Money not applied yet pays the open invoices, oldest due first; `left` keeps what remains."""
        for invoice in sorted((i for i in invoices if i.total > i.paid), key=lambda i: (i.due_date, i.date, i.number)):
            for unapplied in left:
                if invoice.paid >= invoice.total:
                    break
                unapplied.amount -= self.apply(invoice, unapplied.payment, unapplied.amount)
            left[:] = [u for u in left if u.amount > 0]

    def apply(self, invoice: Invoice, payment: Payment, amount: Decimal) -> Decimal:
        """Applies up to `amount` of the payment to what is still owed on the invoice; returns what
        it took. A negative amount (a refund, a reversal) always applies."""
        taken = amount if amount <= 0 else min(amount, max(invoice.total - invoice.paid, ZERO))
        if taken:
            invoice.payments.append(replace(payment, amount=taken, invoice_number=invoice.number))
            invoice.paid += taken
            self.counted[id(payment)] += taken
        return taken

    def movements(self) -> list[Movement]:
        """Every movement of the account, oldest first. They add up to what the customer owes less
        the credit on account, however the export states payments and however they were applied."""
        found = []
        for invoice in self.book.invoices:
            if invoice.status == "void":
                continue
            found.append(Movement(invoice.date, invoice.kind, invoice.number, invoice.total, invoice.number))
            applied = sum((p.amount for p in invoice.payments), ZERO)
            if invoice.paid != applied:  # the export states what was paid, not (all) the payments
                found.append(Movement(invoice.date, "recorded", invoice.number, applied - invoice.paid, invoice.number))
        for payment in self.book.payments:
            amount = self.counted.get(id(payment), ZERO)
            if amount:
                reference = payment.reference or payment.invoice_number
                found.append(Movement(payment.date, "payment", reference, -amount, payment.invoice_number))
        return sorted(found, key=lambda m: (m.date, m.amount < 0, m.reference))


def received(payment: Payment) -> tuple[date, str]:
    return payment.date, payment.reference


def settle_payments(book: CustomerBook, allocate: str) -> None:
    Allocation(book, allocate).settle()
