"""Passwords: generated ones that are strong and easy to read aloud, and a check for chosen ones."""

from __future__ import annotations

import math
import secrets

# Lower case only, and no look-alikes (0/o, 1/l/i, 5/s, 2/z, 8/b, u/v): 23 symbols, 4.52 bits each.
ALPHABET = "acdefghjkmnpqrtwxy34679"
GROUPS, GROUP_LENGTH = 4, 5
# A chosen password must take zxcvbn's estimate of 10^12 guesses or more: at 600,000 PBKDF2
# iterations one current GPU tries about 15,000 a second, so that is years, where zxcvbn's own
# "strong" (10^10) is about a week.
MIN_GUESSES_LOG10 = 12
MIN_LENGTH = 12


def generated_bits() -> float:
    return GROUPS * GROUP_LENGTH * math.log2(len(ALPHABET))


def generate_password() -> str:
    """Four groups of five, e.g. 'kx7dq-mret4-…', about 90 bits."""
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(GROUP_LENGTH)) for _ in range(GROUPS))


def weaknesses(password: str, personal: list[str]) -> list[str]:
    """Why a staff-chosen password is too weak; empty when it is fine. `personal`: the business's
    and the customer's names, ids and e-mail addresses, which an attacker tries first."""
    from zxcvbn import zxcvbn  # imported here: it loads word lists, and only this command needs them

    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"shorter than {MIN_LENGTH} characters")
    folded = password.lower()
    words = {
        w.lower(): w
        for text in personal
        for w in [text, *text.replace("@", " ").replace(".", " ").split()]
        if len(w) >= 4
    }
    problems += [f"contains {words[word]!r}" for word in sorted(words) if word in folded]
    estimate = zxcvbn(password[:100], user_inputs=sorted(words.values()))  # zxcvbn slows down on long input
    if estimate["guesses_log10"] < MIN_GUESSES_LOG10:
        why = estimate["feedback"]["warning"] or "too predictable"
        problems.append(
            f"{why.rstrip('.').lower()}: about 10^{estimate['guesses_log10']:.0f} guesses, "
            f"needs 10^{MIN_GUESSES_LOG10} (try four or more unrelated words, or let `passwords rotate` make one)"
        )
    return problems
