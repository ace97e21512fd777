"""fortune_topics: Unix fortune-cookie texts labelled by the fortune file (topic) they come from.
Debian package fortunes 1:1.99.1-7.3: /usr/share/games/fortunes/<topic>.u8 (UTF-8; entries separated by a line '%').
Whitespace is normalised per line (kept multi-line joined by '\n'), empty and duplicate texts
(including texts appearing in two topics) are dropped."""

import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from common import assign_ids, print_text_lengths, split_and_write

D = sys.argv[1]  # .../usr/share/games/fortunes
OUT = "/tmp/real18/fortune_topics"
TOPICS = ["computers", "food", "law", "men-women", "politics", "science", "songs-poems", "startrek"]
os.makedirs(OUT, exist_ok=True)
rows = []
for t in TOPICS:
    with open(f"{D}/{t}.u8", encoding="utf-8", errors="replace") as file:
        raw = file.read()
    for chunk in raw.split("\n%\n"):
        lines = [line.rstrip() for line in chunk.strip("\n").split("\n")]
        txt = "\n".join(lines).strip().strip("%").strip()
        if txt:
            rows.append(dict(label=t, text=txt))
df = pd.DataFrame(rows)
print("raw", len(df))
amb = df.groupby("text").label.nunique()
amb = set(amb[amb > 1].index)
df = df[~df.text.isin(amb)].drop_duplicates("text")
print("after dedupe", len(df))
df = assign_ids(df.reset_index(drop=True))
split_and_write(df, OUT, "text")
print_text_lengths(df)
