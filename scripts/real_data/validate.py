"""Checks every competition folder: columns, unique and disjoint ids, labels, files, image sizes and modes,
text lengths."""

import collections
import os

import pandas as pd
from PIL import Image

R = "/tmp/real18"
for name in sorted(os.listdir(R)):
    d = f"{R}/{name}"
    if not os.path.exists(f"{d}/train.csv"):
        continue
    tr, te, tl = (pd.read_csv(f"{d}/{f}.csv", keep_default_na=False) for f in ["train", "test", "test_labels"])
    feat = "image" if "image" in tr else "text"
    assert (
        list(tr.columns) == ["id", feat, "label"]
        and list(te.columns) == ["id", feat]
        and list(tl.columns) == ["id", "label"]
    )
    assert tr.id.is_unique and te.id.is_unique and not set(tr.id) & set(te.id) and list(te.id) == list(tl.id)
    assert set(tl.label) <= set(tr.label)
    n = tr.label.value_counts()
    tot = n.add(tl.label.value_counts(), fill_value=0)
    line = f"{name}: train {len(tr)} test {len(te)} classes {len(n)} min/class total {int(tot.min())} train {n.min()}"
    if feat == "image":
        c = collections.Counter()
        for p in pd.concat([tr.image, te.image]):
            im = Image.open(f"{d}/{p}")
            c[(im.size, im.mode)] += 1
        line += f" sizes/modes {dict(c)} files {len(os.listdir(d + '/images'))}"
    else:
        w = pd.concat([tr.text, te.text]).str.split().str.len()
        line += f" words median {w.median()} mean {w.mean():.1f} max {w.max()} empty {(w == 0).sum()}"
    print(line)
