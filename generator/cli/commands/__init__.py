"""One module per command, each adding its parser (`add_to`) and running it (`run`)."""

from __future__ import annotations

from . import build, check, invite, keys, keystore, notify, passwords, publish, revoke, serve

COMMANDS = (
    build,
    keys,
    check,
    passwords,
    publish,
    invite,
    notify,
    serve,
    revoke,
    keystore,
)  # in the order `portico --help` lists them
