"""Developer commands: ``python -m shoal.db revision -m MESSAGE`` | ``heads``."""

from __future__ import annotations

import argparse

from shoal.db import _migrate


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m shoal.db")
    sub = parser.add_subparsers(dest="command", required=True)
    rev = sub.add_parser("revision", help="autogenerate the next migration from the models")
    rev.add_argument("-m", "--message", required=True, help="what the migration does")
    sub.add_parser("heads", help="print the head revision of the packaged migrations")
    args = parser.parse_args(argv)
    if args.command == "revision":
        print(_migrate.new_revision(args.message))
    else:
        print(" ".join(_migrate.heads()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
