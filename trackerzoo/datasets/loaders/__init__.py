"""One module per official on-disk layout.

Core's built-in plugin (``trackerzoo.datasets.builtin_plugin``) registers each kind.
"""
