"""One module per sub-command; each defines ``register(subparsers)``.

``register`` adds its parser and sets ``func`` (``func(args) -> int`` exit status) as
the parser default. ``trackerzoo.cli.main`` discovers the modules here, so adding a
command is adding a file.
"""
