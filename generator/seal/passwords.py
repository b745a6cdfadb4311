"""Passwords: generated ones that are strong and easy to read aloud, and a check for chosen ones."""

from __future__ import annotations

import math
import re
import secrets

# Lower case only, and no look-alikes (0/o, 1/l/i, 5/s, 2/z, 8/b, u/v): 23 symbols, 4.52 bits each.
ALPHABET = "acdefghjkmnpqrtwxy34679"
GROUPS, GROUP_LENGTH = 4, 5
MIN_CHOSEN_BITS = 60
COMMON = {
    "password",
    "passwort",
    "motdepasse",
    "welcome",
    "letmein",
    "qwerty",
    "azerty",
    "123456",
    "iloveyou",
    "admin",
    "portal",
    "sommer",
    "summer",
    "winter",
    "changeme",
    "secret",
    "dragon",
    "monkey",
}


def generated_bits() -> float:
    return GROUPS * GROUP_LENGTH * math.log2(len(ALPHABET))


def generate_password() -> str:
    """Four groups of five, e.g. 'kx7dq-mret4-…', about 90 bits."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def estimated_bits(password: str) -> float:
    """A conservative estimate: character classes used, with repeats and sequences discounted."""
    pool = 0
    for pattern, size in ((r"[a-z]", 26), (r"[A-Z]", 26), (r"[0-9]", 10), (r"[^a-zA-Z0-9]", 33)):
        if re.search(pattern, password):
            pool += size
    distinct = len(set(password.lower()))
    effective_length = min(len(password), distinct * 2)
    return effective_length * math.log2(pool) if pool else 0.0


def weaknesses(password: str, personal: list[str]) -> list[str]:
    """Why a staff-chosen password is too weak; empty when it is fine."""
    problems = []
    if len(password) < 12:
        problems.append("shorter than 12 characters")
    folded = password.lower()
    if any(word in folded for word in COMMON):
        problems.append("contains a common password")
    for word in personal:
        if len(word) >= 4 and word.lower() in folded:
            problems.append(f"contains {word!r}")
    if estimated_bits(password) < MIN_CHOSEN_BITS:
        problems.append(f"too predictable (about {estimated_bits(password):.0f} bits, needs {MIN_CHOSEN_BITS})")
    return problems
