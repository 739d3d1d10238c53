"""The ``shoal`` command-line interface (click): ``shoal ceph|rbd|config|up ...``.

Entry point: :func:`shoal.cli.main.main`. Each command group is a module or package:
:mod:`.ceph`, :mod:`.rbd` (a package, one module per command family), :mod:`.config`,
:mod:`.up`. :mod:`._common` holds what they share: the global options (listed once,
in ``shoal --help``), aliases in help, the output width and text wrapping.
"""
