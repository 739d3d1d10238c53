"""The ``shoal`` command-line interface (click): ``shoal ceph ...``, ``shoal rbd ...``.

Entry point: :func:`shoal.cli.main.main`. Each command group is a module
(:mod:`.ceph`, :mod:`.rbd`); shared global options live in :mod:`._common`.
"""
