"""Chaos run (issues 5 and 10): the simulator and the node as separate OS processes; the node
is killed with SIGKILL (at random moments and at the dangerous ones: a new intent row, the
exchange's acknowledgement, a fill) and restarted, and traders, leaders and symbol supervisors
are killed through the control API. At the end the market is paused, the node settles and
stops, and the simulator's ledger and order arrivals are checked against the node's store.

    python bench/chaos.py --node-kills N --process-kills M --seed S [--database-url URL]
        [--commission received --fills volume] [--mutant call-before-intent] [--json]

Checks (each a counter of `violations`; see chaos_check.py and chaos_money.py): every order
request reached the exchange after its intent was committed, and has an intent; no store row
claims an order the exchange never accepted; no intent left PENDING; no exchange order the
store lost; no lost fill; one exchange order per trader intent (re-placed client ids counted);
every open exchange order owned by a stored trader that sees it as the exchange does; every
executed buy's sell placed within 10 s of the fill being known, or dust; no oversold position;
no sell refused for balance; balances that reconcile exactly. Exits 1 on any violation, 2 if
the run itself failed; with --json the last line of stdout is the JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from chaos_aim import MOMENTS
from chaos_procs import drop_schema, prepare_database
from chaos_run import Run, log


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--node-kills", type=int, default=10)
    p.add_argument("--process-kills", type=int, default=100)
    p.add_argument(
        "--moments",
        choices=["all", *MOMENTS],
        default="all",
        help="when node kills strike (all: the moments in equal shares)",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="the store of the nodes and of the checker [a scratch SQLite file]; "
        "SQLite: its tables are dropped first; PostgreSQL: a fresh schema in it",
    )
    p.add_argument(
        "--commission",
        default="received",
        help="passed to `hedgehog exchange serve` when it knows the option",
    )
    p.add_argument(
        "--fills",
        default="volume",
        help="passed to `hedgehog exchange serve` when it knows the option",
    )
    p.add_argument(
        "--mutant",
        choices=["call-before-intent"],
        default=None,
        help="run a broken node (bench/chaos_mutant.py): the checker must fail",
    )
    p.add_argument("--gap", type=float, default=0.4, help="mean seconds between events")
    p.add_argument("--speed", type=float, default=30, help="market pace (x10 trades/s)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of trading first")
    p.add_argument("--settle", type=float, default=5.0, help="seconds of trading at the end")
    p.add_argument(
        "--final-wait",
        type=float,
        default=12.0,
        help="seconds at least between pausing the market and the final read",
    )
    p.add_argument(
        "--liveness",
        type=float,
        default=10.0,
        help="seconds within which a filled buy's sell must be placed",
    )
    p.add_argument("--keep", type=Path, default=None, help="keep the work dir's logs here")
    p.add_argument("--json", action="store_true")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    with tempfile.TemporaryDirectory(prefix="hedgehog-chaos-") as tmp:
        workdir = Path(tmp)
        url, schema = prepare_database(args.database_url, workdir)
        started = time.monotonic()
        try:
            summary = asyncio.run(Run(args, workdir, url).run())
        except (RuntimeError, OSError) as exc:
            node_log = workdir / "node.log"
            tail = node_log.read_text(errors="replace")[-3000:] if node_log.exists() else ""
            print(f"chaos run failed: {exc}\n{tail}", file=sys.stderr)
            raise SystemExit(2) from None
        finally:
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                for name in ("node.log", "simulator.log"):
                    if (workdir / name).exists():
                        (args.keep / name).write_bytes((workdir / name).read_bytes())
            if schema is not None:
                drop_schema(url, schema)
        summary["elapsed_s"] = round(time.monotonic() - started, 1)
    bad = {k: n for k, n in summary["violations"].items() if n}
    log(f"violations: {bad or 'none'}")
    print(json.dumps(summary) if args.json else json.dumps(summary, indent=2))
    raise SystemExit(1 if bad else 0)


if __name__ == "__main__":
    main()
