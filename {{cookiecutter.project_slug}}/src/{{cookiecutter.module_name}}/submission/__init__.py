"""From trained folds to a file Kaggle scores: the fold-ensembled, TTA'd test predictions without Lightning
(predict.py), submission.csv in the sample's layout, checked (table.py), the Kaggle CLI (kaggle.py), and the
offline bundle for a Kaggle notebook (bundle/)."""
