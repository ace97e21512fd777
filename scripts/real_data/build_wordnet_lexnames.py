"""wordnet_lexnames: WordNet 3.0 synset glosses (definition + usage examples, WITHOUT the synset's
words) labelled by the synset's lexicographer file (lexname, e.g. noun.animal).
Debian package wordnet-base 1:3.0-37: /usr/share/wordnet/data.noun and data.verb
(field 2 = lex_filenum; gloss follows ' | '). lex_filenum -> name follows WordNet's lexnames(5WN).
10 lexnames, random 500 synsets each (seed 0), then 80/20 stratified split."""

import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from common import assign_ids, cap_per_class, print_text_lengths, split_and_write

D = sys.argv[1]  # .../usr/share/wordnet
OUT = "/tmp/real18/wordnet_lexnames"
LEX = {
    5: "noun.animal",
    6: "noun.artifact",
    8: "noun.body",
    13: "noun.food",
    15: "noun.location",
    18: "noun.person",
    20: "noun.plant",
    27: "noun.substance",
    32: "verb.communication",
    38: "verb.motion",
}
os.makedirs(OUT, exist_ok=True)
rows = []
for pos in ["noun", "verb"]:
    for line in open(f"{D}/data.{pos}", encoding="utf-8", errors="replace"):  # noqa: SIM115
        if line.startswith("  "):
            continue  # license header
        head, _, gloss = line.partition(" | ")
        f = head.split()
        lf = int(f[1])
        if lf in LEX and gloss.strip():
            rows.append(dict(offset=f[0], label=LEX[lf], text=gloss.strip()))
df = pd.DataFrame(rows)
print("available per lexname")
print(df.label.value_counts().sort_index().to_string())
df = df.drop_duplicates("text", keep=False)
df = cap_per_class(df, 500, seed=0)
df = assign_ids(df.reset_index(drop=True))
split_and_write(df, OUT, "text")
print_text_lengths(df)
