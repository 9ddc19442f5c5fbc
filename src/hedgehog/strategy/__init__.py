"""Strategies as plug-ins: the `Strategy` protocol the book's tree runs (traders, leaders),
and the registry that finds one by name — a shipped one ("naive", "grid"), `package.module:Class`,
or a name an installed package registers under the entry-point group `hedgehog.strategies`.

A strategy is pure like the book's naive strategy: `(state, event) -> (state, decisions)`,
no awaits, clock or logging. The trader process carries its decisions out (orders placed after
their intent is stored, recovery by client order id), the leader applies its policy (which
traders to start, when to add or replace one), so a strategy never touches the exchange.
"""
