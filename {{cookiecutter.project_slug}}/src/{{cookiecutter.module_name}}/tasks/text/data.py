"""Texts: a Dataset tokenized once when it is made, and batches padded to their own longest text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset
from transformers import PreTrainedTokenizerBase


class TextDataset(Dataset):
    """The rows' texts (one column, or two as a pair), tokenized up front so no epoch tokenizes again.

    `targets` are the encoded targets (problem.encode) and `labels` the target token ids of text2text;
    either may be None (test rows).
    """

    def __init__(
        self,
        rows: pd.DataFrame,
        text_cols: list[str],
        tokenizer: PreTrainedTokenizerBase,
        max_length: int,
        targets: np.ndarray | None = None,
        labels: list[list[int]] | None = None,
        pad_to_max_length: bool = False,
    ):
        # Empty texts were refused, or kept on purpose (data.skip_bad_rows), when the data was loaded.
        texts = [rows[col].fillna("").astype(str).tolist() for col in text_cols]
        self.encodings = tokenizer(*texts, truncation=True, max_length=max_length)["input_ids"]
        self.lengths = [len(ids) for ids in self.encodings]
        self.targets, self.labels = targets, labels
        self.tokenizer, self.max_length = tokenizer, max_length if pad_to_max_length else None

    def __len__(self) -> int:
        return len(self.encodings)

    def __getitem__(self, index: int) -> dict:
        item = {"input_ids": self.encodings[index], "index": index}
        if self.targets is not None:
            item["target"] = self.targets[index]
        if self.labels is not None:
            item["labels"] = self.labels[index]
        return item

    def collate(self, items: list[dict]) -> dict[str, torch.Tensor]:
        """Pads input_ids (and text2text labels, with -100, which the loss skips) to the batch's longest."""
        padding = "max_length" if self.max_length else "longest"
        inputs = [{"input_ids": item["input_ids"]} for item in items]
        batch = dict(self.tokenizer.pad(inputs, padding=padding, max_length=self.max_length, return_tensors="pt"))
        batch["index"] = torch.tensor([item["index"] for item in items])
        if "target" in items[0]:
            batch["target"] = torch.as_tensor(np.stack([item["target"] for item in items]))
        if "labels" in items[0]:
            width = max(len(item["labels"]) for item in items)
            batch["labels"] = torch.tensor([item["labels"] + [-100] * (width - len(item["labels"])) for item in items])
        return batch
