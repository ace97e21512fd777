"""{{ cookiecutter.project_name }}: K-fold training and fold-ensembled inference on PyTorch Lightning."""
