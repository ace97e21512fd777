"""Shared helpers: stratified 80/20 split (seed 0) and writing the competition CSVs."""

import os

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split


def cap_per_class(df, cap, seed=0):
    """Random (seed 0) subsample of at most `cap` rows per class."""
    parts = []
    for _lab, g in df.groupby("label", sort=True):
        parts.append(g.sample(n=min(cap, len(g)), random_state=seed) if len(g) > cap else g)
    return pd.concat(parts)


def assign_ids(df, seed=0):
    """Shuffle rows (seed 0) and give ids 0..N-1 so the id carries no class order."""
    df = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    df.insert(0, "id", np.arange(len(df)))
    return df


def split_and_write(df, outdir, feat):
    """df: columns id, label, <feat>. Writes train.csv, test.csv, test_labels.csv."""
    tr, te = train_test_split(df, test_size=0.2, stratify=df["label"], random_state=0)
    tr = tr.sort_values("id")
    te = te.sort_values("id")
    tr[["id", feat, "label"]].to_csv(os.path.join(outdir, "train.csv"), index=False)
    te[["id", feat]].to_csv(os.path.join(outdir, "test.csv"), index=False)
    te[["id", "label"]].to_csv(os.path.join(outdir, "test_labels.csv"), index=False)
    print(outdir, "train", len(tr), "test", len(te))
    print(pd.DataFrame({"train": tr.label.value_counts(), "test": te.label.value_counts()}).sort_index().to_string())
    return tr, te


def print_text_lengths(df):
    """The texts' median, 90th percentile and longest length in words."""
    words = df.text.str.split().str.len()
    print("median words", words.median(), "p90", words.quantile(0.9), "max", words.max())
