"""semcode's Dagster wiring, under a name semcode owns once installed.

The sources live at the repository's top level (``assets/``, ``resources/``, ``sensors/``,
``definitions.py``: what a reader of the project opens first); this package links to them, so
a wheel installs them as ``semcode_dagster.assets`` and so on, never as bare ``assets`` or
``definitions`` (names other projects use). Import them by these names everywhere.
"""
