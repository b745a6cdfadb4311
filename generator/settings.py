"""Where the layered portal settings meet the export: names the export does not know.

`groups` and `customers` in config.yaml name export values; a typo there silently applies to
nobody, so every build and `portico check` warn about a customer id or group no customer has,
and about an order stage a group or customer lists that the global `portal.order_stages` does not.
(Unknown module and field names are errors already: the schema knows them.)
"""
from __future__ import annotations

from .config import Config
from .model import Ledger
from .problems import ProblemLog


def check_settings(config: Config, ledger: Ledger, problems: ProblemLog) -> None:
    where = config.source_path.name
    customers = set(ledger.books)
    groups = {book.customer.group for book in ledger.books.values() if book.customer.group}
    for customer_id in config.customers:
        if customer_id not in customers:
            problems.warning(where, None, f"customers.{customer_id}",
                             f"no customer {customer_id!r} in the export; these settings apply to nobody",
                             "unknown-setting")
    for group in config.groups:
        if group not in groups:
            known = ", ".join(sorted(groups)) or "none"
            problems.warning(where, None, f"groups.{group}",
                             f"no customer is in group {group!r} (groups in the export: {known})", "unknown-setting")
    known_stages = set(config.portal.order_stages)
    layers = [(f"groups.{name}", o) for name, o in config.groups.items()]
    layers += [(f"customers.{cid}", o) for cid, o in config.customers.items()]
    for path, override in layers:
        for stage in override.get("order_stages") or []:
            if stage not in known_stages:
                problems.warning(where, None, f"{path}.order_stages",
                                 f"stage {stage!r} is not one of portal.order_stages", "unknown-setting")
        for i, link in enumerate((override.get("branding") or {}).get("nav_links") or []):
            _check_audience(where, f"{path}.branding.nav_links.{i}.audience", link.get("audience"),
                            customers, groups, problems)
    for i, link in enumerate(config.portal.branding.nav_links):
        _check_audience(where, f"portal.branding.nav_links.{i}.audience", link.audience, customers, groups, problems)


def _check_audience(where: str, path: str, audience: list[str] | None, customers: set[str], groups: set[str],
                    problems: ProblemLog) -> None:
    for name in audience or []:
        if name not in customers and name not in groups:
            problems.warning(where, None, path, f"{name!r} is neither a customer id nor a group in the export",
                             "unknown-setting")
