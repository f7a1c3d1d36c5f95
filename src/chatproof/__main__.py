"""``python -m chatproof`` is the ``chatproof`` command."""

from chatproof.cli import main

main()
