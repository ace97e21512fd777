"""What every other folder shares, importing nothing else of the package: the errors a user can cause and the
one-line exit they get (errors.py, cli.py), files written whole or not at all (io.py), where every output file
lives (layout.py), and what a run was made with (provenance.py)."""
