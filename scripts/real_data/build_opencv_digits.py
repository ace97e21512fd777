"""opencv_digits: 5000 handwritten 20x20 digits cut from OpenCV's samples/data/digits.png
(Debian package opencv-doc 4.6.0+dfsg-12: /usr/share/doc/opencv-doc/examples/data/digits.png).
Layout (as in OpenCV's digits.py sample): 2000x1000 grayscale, 50 rows x 100 cols of 20x20 cells;
every 5 rows of cells (500 digits) is one digit class 0..9."""

import os
import sys

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from common import assign_ids, split_and_write

SRC = sys.argv[1]  # path to extracted digits.png
OUT = "/tmp/real18/opencv_digits"
os.makedirs(OUT + "/images", exist_ok=True)
im = np.array(Image.open(SRC).convert("L"))
assert im.shape == (1000, 2000), im.shape
rows = []
for r in range(50):
    for c in range(100):
        rows.append(dict(cell=(r, c), label=r // 5, arr=im[r * 20 : (r + 1) * 20, c * 20 : (c + 1) * 20]))
df = assign_ids(pd.DataFrame(rows))
for i, a in zip(df.id, df.arr, strict=False):
    Image.fromarray(a, "L").save(f"{OUT}/images/{i}.png")
df["image"] = [f"images/{i}.png" for i in df.id]
split_and_write(df, OUT, "image")
