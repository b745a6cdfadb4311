"""Portico: private, static customer portals built from an ERP export."""

__version__ = "0.1.0"
