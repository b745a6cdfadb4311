"""Translation catalogues: the theme chain's gettext `.po` files, merged, with English as the floor.

Catalogues live in each theme as `locales/<language>/LC_MESSAGES/messages.po` (Babel's layout,
so `pybabel extract / update / compile` work on them unchanged). They are compiled in memory
when a build starts, so a translator edits one `.po` file and rebuilds; nothing compiled is
kept in the repository to go stale.

For a customer in `de_AT` a string is looked up in the `de_AT` catalogues of the theme and then
of its parents, then in their `de` catalogues, then in their English ones (a theme may reword
the English), and last the English source string itself. An empty or fuzzy translation counts as missing, so a
half-translated catalogue shows English where it has gaps, never an empty string.
"""

from __future__ import annotations

import gettext
import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"


def language_candidates(language: str) -> list[str]:
    """`de_AT` → ['de_AT', 'de']; `de-at` is read as `de_AT`."""
    parts = language.replace("-", "_").split("_")
    full = "_".join([parts[0].lower(), *[p.upper() if len(p) == 2 else p for p in parts[1:]]])
    return list(dict.fromkeys([full, parts[0].lower()]))


def complete_only(catalog: Catalog) -> Catalog:
    """The catalogue without untranslated or fuzzy messages (they fall through to the next one)."""
    for message in list(catalog):
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
        if message.fuzzy or not all(strings):
            catalog.delete(message.id, message.context)
    return catalog


def compile_po(path: Path) -> Translations:
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=path.parents[1].name)
    buffer = io.BytesIO()
    write_mo(buffer, complete_only(catalog))
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class Catalogues:
    def __init__(self, locale_dirs: list[Path]):
        self.locale_dirs = locale_dirs  # nearest theme first
        self._chains: dict[str, gettext.NullTranslations] = {}

    def languages(self) -> list[str]:
        """Languages some theme of the chain has a catalogue for, English always included."""
        found = {SOURCE_LANGUAGE}
        for folder in self.locale_dirs:
            found |= {p.parents[1].name for p in folder.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
        return sorted(found)

    def _catalogue(self, folder: Path, language: str) -> Translations | None:
        path = folder / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        return compile_po(path) if path.is_file() else None

    def translations(self, language: str) -> gettext.NullTranslations:
        if language not in self._chains:
            order = [(folder, lang) for lang in language_candidates(language) for folder in self.locale_dirs]
            order += [(folder, SOURCE_LANGUAGE) for folder in self.locale_dirs]
            chain = gettext.NullTranslations()  # the English source strings, the last resort
            for folder, lang in reversed(order):
                catalogue = self._catalogue(folder, lang)
                if catalogue is not None:
                    catalogue.add_fallback(chain)
                    chain = catalogue
            self._chains[language] = chain
        return self._chains[language]
