"""The store's exceptions, and who handles each.

- `DatabaseUnavailable` (a `ConfigError`): the database cannot be reached or opened. At start
  the CLI prints it and exits non-zero; its message names the database with the password
  masked.
- `CorruptRow` (a `ConfigError`): a row that cannot be read back (say a budget edited by hand
  into "abc"). It names the table, the row and the column; other rows still load.
- `StaleVersion`: optimistic concurrency. A trader state was changed by another writer (a
  second node on the same database) since this store last read or wrote it. Nobody handles
  it: the trader crashes rather than overwrite a state it has not seen.
- `FencedError` (a `StoreUnavailable`): cluster mode, a write by a node whose symbol lease
  is gone or has a newer epoch. The trader treats it as a store it cannot write: it places
  nothing and waits, while its node stops the symbol (`hedgehog.store.leases`).
"""

from __future__ import annotations

from hedgehog.core.errors import ConfigError, HedgehogError, StoreUnavailable


class StoreError(HedgehogError):
    """Base of the store's own errors."""


class DatabaseUnavailable(StoreError, ConfigError, StoreUnavailable):
    """The database cannot be reached or opened (wrong URL, server down, no permission)."""


class CorruptRow(StoreError, ConfigError):
    """A stored row holds a value that cannot be read back."""


class StaleVersion(StoreError):
    """A save based on an outdated version of a trader state (another writer got there first)."""


class FencedError(StoreError, StoreUnavailable):
    """A write refused because the writer no longer holds the symbol's lease at its epoch
    (cluster mode: another node took the symbol over, or the lease expired). Like an
    unreachable store, nothing is written and so no order is placed: a trader pauses, and its
    node stops the symbol's traders (`hedgehog.cluster`)."""
