"""2,000-row training subsets of the /tmp/real18 competitions, and a config for each from a baked project.

usage: python subsets.py BAKED_PROJECT   (writes /tmp/real18/sub/<name>/ and /tmp/real18/configs/sub_<name>.yaml)

Each subset is a stratified sample (seed 0) of the training rows, the full test set, and a sample submission;
images are linked, not copied. Each config is the baked project's own vision.yaml or nlp.yaml with the data
section pointed at the subset, so the figures are the shipped recipe's.
"""

import os
import re
import sys

import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = "/tmp/real18"
ROWS = 2000
IMAGES = {"opencv_digits": 1, "icon_context": 3}  # name: in_chans
TEXTS = ["fortune_topics", "wordnet_lexnames"]


def subset(name):
    src, dst = f"{ROOT}/{name}", f"{ROOT}/sub/{name}"
    os.makedirs(dst, exist_ok=True)
    train = pd.read_csv(f"{src}/train.csv")
    if len(train) > ROWS:
        train, _ = train_test_split(train, train_size=ROWS, stratify=train["label"], random_state=0)
    train.sort_values("id").to_csv(f"{dst}/train.csv", index=False)
    test = pd.read_csv(f"{src}/test.csv")
    test.to_csv(f"{dst}/test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], "label": train["label"].iloc[0]})
    sample.to_csv(f"{dst}/sample_submission.csv", index=False)
    if os.path.isdir(f"{src}/images") and not os.path.exists(f"{dst}/images"):
        os.symlink(f"{src}/images", f"{dst}/images")
    print(name, "train", len(train), "test", len(test))


def config(baked, name, shipped, changes):
    with open(f"{baked}/configs/{shipped}") as f:
        text = f.read()
    for pattern, value in changes:
        text, n = re.subn(pattern, value, text, count=1, flags=re.M)
        assert n == 1, f"{shipped}: {pattern!r} not found"
    with open(f"{ROOT}/configs/sub_{name}.yaml", "w") as f:
        f.write(text)


def data_section(name):
    """The changes every config gets: its experiment's name, its folder, its label column."""
    return [
        (r"^experiment: .*", f"experiment: {name}"),
        (r"^  dir: \S+", f"  dir: {ROOT}/sub/{name}"),
        (r"^  target_cols: .*", "  target_cols: [label]"),
    ]


def main(baked):
    os.makedirs(f"{ROOT}/configs", exist_ok=True)
    for name, chans in IMAGES.items():
        subset(name)
        images = [(rf"^  {split}_image: \S+", f"  {split}_image: '{{image}}'") for split in ("train", "test")]
        channels = (r"^  in_chans: \d+", f"  in_chans: {chans}")
        config(baked, name, "vision.yaml", [*data_section(name), *images, channels])
    for name in TEXTS:
        subset(name)
        encoder = [(r"^  name: \S+", f"  name: {ROOT}/minilm"), (r"^  pretrained: \S+", "  pretrained: true")]
        config(baked, name, "nlp.yaml", [*data_section(name), *encoder])


if __name__ == "__main__":
    main(sys.argv[1])
