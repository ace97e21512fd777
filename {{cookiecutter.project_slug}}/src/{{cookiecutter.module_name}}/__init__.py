"""K-fold training and fold-ensembled inference for a Kaggle competition, on PyTorch Lightning."""

import logging
import os
import warnings

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations would ask PyPI for updates at import

# Lightning 2.6 checks a pytree class that torch 2.13 deprecates: a warning on every fit that the
# user can do nothing about.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
# Lightning's all_gather (the validation rows of a DDP run) calls a torch function that 2.13 deprecates.
warnings.filterwarnings("ignore", message=r".*distributed\.nn\.functional\.all_gather is deprecated.*")


class _NoAdverts(logging.Filter):
    """Drops Lightning's tip advertising its cloud logger from every fold's output; its other messages stay."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


for _name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
    logging.getLogger(_name).addFilter(_NoAdverts())
