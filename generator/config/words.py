"""Marking text customers read for translation where it is declared (`pybabel extract -k N_`
finds it); it is translated where it is shown, in the customer's language."""

from __future__ import annotations


def N_(message: str) -> str:
    """Marks a string for translation where it is declared; it is translated where shown."""
    return message
