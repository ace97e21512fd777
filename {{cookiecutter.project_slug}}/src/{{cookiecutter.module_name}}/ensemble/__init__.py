"""The endgame beyond one experiment: the scikit-learn floor (floor.py, baseline.py), blends and stacks of finished
experiments with an honest CV (members.py, blending.py, blend.py), and the table comparing them (report.py,
report.py). Delete this folder with baseline.py, blend.py and report.py, and train.py and predict.py still work."""
