"""K-fold cross-validation: `loop.train(cfg, folds)` refuses what cannot run, splits the rows (split.py), trains
each fold from fresh weights (fold.py, its data in fold_data.py), and merges the out-of-fold predictions into the
CV score (oof.py). Beside it: what is on disk of an experiment (state.py, artefacts.py), the `auto` values
(auto.py) and the finders on a fold (tune.py), seeds, the full-data refit, pseudo-labels, and the per-fold lock."""
