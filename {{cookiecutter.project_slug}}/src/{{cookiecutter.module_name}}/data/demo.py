"""Embedded demo competitions, written on first use in a Kaggle layout so the project trains offline.

digits: scikit-learn's 1,797 handwritten digits (8x8, real data that ships with scikit-learn), upscaled
to 32x32 PNGs. train.csv (id, label), test.csv (id), sample_submission.csv (id, label), train/, test/.

docstrings: which library wrote this docstring, numpy, pandas or torch? About 2,000 summaries of the
installed libraries' own docstrings (real text, 40 to 600 characters). train.csv (id, name, text,
library), test.csv (id, name, text), sample_submission.csv (id, library).

t5-tiny: a model folder for the text demo, as a Kaggle dataset of a hub model would hold it: a small
T5 config.json and a tokenizer trained on the demo's training texts. No weights: it trains from scratch.
"""

from __future__ import annotations

import importlib
import inspect
import re
import shutil
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

DEMO_ROOT = Path("data/demo")
N_TEST = 297  # leaves 1,500 training rows


def write_digits(folder: Path, size: int = 32, seed: int = 0) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(seed).permutation(len(digits.target))
    ids = [f"digit_{i:04d}" for i in range(len(order))]
    for split in ("train", "test"):
        (folder / split).mkdir(parents=True)
    rows = []
    for new_id, index in zip(ids, order, strict=True):
        split = "test" if len(rows) >= len(order) - N_TEST else "train"
        image = (digits.images[index] * (255 / 16)).astype(np.uint8)
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(folder / split / f"{new_id}.png"), image)
        rows.append({"id": new_id, "label": int(digits.target[index]), "split": split})
    table = pd.DataFrame(rows)
    train, test = table[table.split == "train"], table[table.split == "test"]
    train[["id", "label"]].to_csv(folder / "train.csv", index=False)
    test[["id"]].to_csv(folder / "test.csv", index=False)
    test.assign(label=0)[["id", "label"]].to_csv(folder / "sample_submission.csv", index=False)


# Where each library's documented callables are read from, for the docstrings demo.
DOCSTRING_SOURCES = {
    "numpy": ("numpy", "numpy.ndarray", "numpy.linalg", "numpy.random.Generator", "numpy.fft", "numpy.ma"),
    "pandas": ("pandas", "pandas.DataFrame", "pandas.Series", "pandas.Index", "pandas.api.types"),
    "torch": ("torch", "torch.Tensor", "torch.nn", "torch.nn.functional", "torch.linalg", "torch.optim", "torch.fft"),
}
# The sections after a docstring's summary; the summary ends where one starts.
SECTION = re.compile(r"^(Parameters|Args|Arguments|Returns|Examples?|See Also|Notes|Raises|Shape|\.\. |>>>|-{3,})")


def docstring_summary(doc: str, max_chars: int = 600) -> str:
    """Up to three paragraphs before the first section, on one line, skipping a leading call signature."""
    kept = []
    for paragraph in filter(str.strip, re.split(r"\n\s*\n", doc.strip())):
        first = paragraph.strip().splitlines()[0]
        if SECTION.match(first) or len(kept) == 3:
            break
        if not kept and "(" in first and (first.rstrip().endswith(")") or "->" in first):
            continue  # numpy ufuncs and torch builtins open with their signature
        kept.append(" ".join(paragraph.split()))
    text = " ".join(kept)
    return text if len(text) <= max_chars else text[:max_chars].rsplit(" ", 1)[0]


def _namespace(path: str):
    try:
        return importlib.import_module(path)
    except ImportError:
        module, _, attribute = path.rpartition(".")
        return getattr(importlib.import_module(module), attribute)


def write_docstrings(folder: Path, test_share: float = 0.2, seed: int = 0) -> None:
    found: dict[str, set] = {}  # summary -> {(library, name)}
    for library, paths in DOCSTRING_SOURCES.items():
        for path in paths:
            namespace = _namespace(path)
            for name in sorted(dir(namespace)):
                obj = None if name.startswith("_") else getattr(namespace, name, None)
                doc = inspect.getdoc(obj) if callable(obj) else None
                text = docstring_summary(doc) if doc else ""
                if len(text) >= 30:
                    found.setdefault(text, set()).add((library, name))
    # A summary that two libraries share cannot be told apart: it is left out.
    rows = [
        (min(names)[1], text, min(names)[0]) for text, names in found.items() if len({lib for lib, _ in names}) == 1
    ]
    table = pd.DataFrame(rows, columns=["name", "text", "library"]).sample(frac=1.0, random_state=seed)
    table.insert(0, "id", [f"doc_{i:05d}" for i in range(len(table))])
    n_test = int(len(table) * test_share)
    train, test = table.iloc[n_test:], table.iloc[:n_test]
    folder.mkdir(parents=True, exist_ok=True)
    train.to_csv(folder / "train.csv", index=False)
    test[["id", "name", "text"]].to_csv(folder / "test.csv", index=False)
    test.assign(library="numpy")[["id", "library"]].to_csv(folder / "sample_submission.csv", index=False)


def train_tokenizer(texts: list[str], folder: Path, vocab_size: int = 4000):
    """A T5-style tokenizer (</s> after each text, <pad> id 0) trained on `texts`, saved in `folder`.

    BPE rather than T5's Unigram: the Unigram trainer gives a different vocabulary on every run.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.normalizer = normalizers.NFKC()
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    special = ["<pad>", "</s>", "<unk>"]
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=special, show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    eos = tokenizer.token_to_id("</s>")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", eos)]
    )
    tokenizer.decoder = decoders.Metaspace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    fast.save_pretrained(folder)
    return fast


def write_tiny_t5(folder: Path) -> None:
    ensure_demo(DOCSTRINGS)
    texts = pd.read_csv(DOCSTRINGS / "train.csv").text.tolist()
    tokenizer = train_tokenizer(texts, folder)
    tiny_t5_config(len(tokenizer)).save_pretrained(folder)


def tiny_t5_config(vocab_size: int):
    """A T5 small enough to train in seconds on a CPU: 2 layers of width 128 in the encoder and the decoder."""
    from transformers import T5Config

    return T5Config(
        vocab_size=vocab_size,
        d_model=128,
        d_kv=32,
        d_ff=512,
        num_layers=2,
        num_heads=4,
        relative_attention_num_buckets=16,
        dropout_rate=0.1,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,  # T5 starts decoding from <pad>; transformers 5 no longer assumes it
    )


DOCSTRINGS = DEMO_ROOT / "docstrings"
DEMOS = {DEMO_ROOT / "digits": write_digits, DOCSTRINGS: write_docstrings, DEMO_ROOT / "t5-tiny": write_tiny_t5}


def ensure_demo(data_dir: str | Path) -> None:
    """Write the demo data (a competition, or the demo model folder) at `data_dir`, if it is one and not there yet."""
    folder = Path(data_dir)
    writer = DEMOS.get(folder)
    if writer is None or folder.exists():  # written whole or not at all, below
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Built in a temporary folder and moved in whole: an interrupted first run leaves no half demo.
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        writer(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Wrote the demo data to {folder}/")
