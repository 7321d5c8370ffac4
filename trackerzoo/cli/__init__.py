"""The ``trackerzoo`` command line."""
