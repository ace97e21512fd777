"""The competition's files: CSVs read as text (tables.py), the problem type of the targets (problem.py), the tables
read and checked once (competition.py), the DataLoader any task uses (loaders.py, workers.py), and the embedded
demo competitions (demo.py)."""
