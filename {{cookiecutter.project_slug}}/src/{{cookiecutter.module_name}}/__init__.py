"""K-fold training and fold-ensembled inference for a Kaggle competition, on PyTorch Lightning."""

import warnings

# Lightning 2.6 checks a pytree class that torch 2.13 deprecates: a warning on every fit that the
# user can do nothing about.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
