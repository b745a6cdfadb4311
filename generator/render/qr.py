"""QR codes made at build time for printed invoices: the pay link, or a SEPA credit transfer.

A code is an inline SVG (no script, no request), so a printout or a PDF carries it and a phone's
camera pays from paper. Made only for invoices with a balance, where the settings ask for it.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

from ..config.schema import PaymentInstructions

EPC_MAX = Decimal("999999999.99")


def payment_qr(
    link: str, balance: Decimal, currency: str, reference: str, payment: PaymentInstructions, payee: str
) -> Markup | None:
    """The pay link if the invoice has one; else, for an IBAN and a balance in euros, the EPC
    code banking apps read (payee, IBAN, BIC, amount, the invoice number as the reference)."""
    if not payment.qr or balance <= 0:
        return None
    import segno  # (on first use: most builds make no code)
    from segno import helpers

    if link:
        code = segno.make(link, error="m")
    elif payment.iban and currency == "EUR" and balance <= EPC_MAX:
        code = helpers.make_epc_qr(
            name=(payment.account_holder or payee)[:70],
            iban=payment.iban,
            bic=payment.bic or None,
            amount=balance,
            reference=None,
            text=reference[:140],
        )
    else:
        return None
    return Markup(code.svg_inline(scale=3, border=2, dark="#000", light="#fff", svgclass="qr", omitsize=True))
