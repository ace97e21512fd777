"""icon_context: 48x48 desktop icons labelled by their freedesktop context folder
(actions/apps/devices/mimetypes/places/status), from two Debian icon themes:
  oxygen-icon-theme 5:5.103.0-1  /usr/share/icons/oxygen/base/48x48/<context>/*.png
  gnome-icon-theme 3.12.0-5      /usr/share/icons/gnome/48x48/<context>/*.png
Only regular files (symlinks are aliases), deduplicated by pixel content; an image whose
pixels appear under two contexts is dropped. RGBA icons are alpha-composited on white -> RGB."""

import glob
import hashlib
import os
import sys

import pandas as pd
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from common import assign_ids, split_and_write

ROOT = sys.argv[1]  # dir holding extracted packages: <ROOT>/oxygen-icon-theme, <ROOT>/gnome-icon-theme
OUT = "/tmp/real18/icon_context"
CTX = ["actions", "apps", "devices", "mimetypes", "places", "status"]
THEMES = {
    "oxygen": f"{ROOT}/oxygen-icon-theme/usr/share/icons/oxygen/base/48x48",
    "gnome": f"{ROOT}/gnome-icon-theme/usr/share/icons/gnome/48x48",
}
os.makedirs(OUT + "/images", exist_ok=True)
rows = []
for theme, base in THEMES.items():
    for ctx in CTX:
        for p in sorted(glob.glob(f"{base}/{ctx}/*.png")):
            if os.path.islink(p):
                continue
            im = Image.open(p).convert("RGBA")
            if im.size != (48, 48):
                continue
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(bg, im).convert("RGB")
            h = hashlib.md5(rgb.tobytes()).hexdigest()
            rows.append(dict(theme=theme, label=ctx, src=p, img=rgb, h=h))
df = pd.DataFrame(rows)
print("raw", len(df))
amb = df.groupby("h").label.nunique()
amb = set(amb[amb > 1].index)
df = df[~df.h.isin(amb)].drop_duplicates("h")
print("after dedupe", len(df), "dropped ambiguous hashes", len(amb))
print(pd.crosstab(df.label, df.theme))
df = assign_ids(df.reset_index(drop=True))
for i, im in zip(df.id, df.img, strict=False):
    im.save(f"{OUT}/images/{i}.png")
df["image"] = [f"images/{i}.png" for i in df.id]
df[["id", "theme", "src", "label"]].assign(src=lambda d: d.src.str.replace(ROOT + "/", "")).to_csv(
    f"{OUT}/../scripts/icon_context_sources.csv", index=False
)
split_and_write(df, OUT, "image")
