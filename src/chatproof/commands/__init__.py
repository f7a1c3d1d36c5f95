"""Command groups of the ``chatproof`` command, one module per area; ``chatproof.cli``
registers them. Shared options and error handling live in ``common``."""
