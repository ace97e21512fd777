"""Texts at real lengths, for bench.py (the text task's Task.real_inputs): a competition of essays of 50 to 600
words cut from the Python documentation that ships with Python (pydoc_data), a t5-small-sized encoder with random
weights, and the tokens per second it trains on with dynamic padding and length grouping against padding to
max_length.

Real tokens are the texts' own; padded tokens are what the encoder computes (pads included).
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..config import Config
from ..cv.split import load_competition
from ..tasks import get_task
from ..tasks.text.models import load_tokenizer
from ..training.loss import make_loss

T5_SMALL = {"d_model": 512, "d_kv": 64, "d_ff": 2048, "num_layers": 6, "num_heads": 8}  # t5-small's encoder


def essay_competition(folder: Path, rows: int = 256, seed: int = 0) -> Path:
    """`rows` essays, each a run of 50 to 600 words (log-uniform) of a Python docs topic, labelled by its parity."""
    from pydoc_data.topics import topics

    rng = np.random.default_rng(seed)
    texts = [text.split() for text in topics.values() if len(text.split()) >= 600]
    essays, labels = [], []
    for _ in range(rows):
        topic = int(rng.integers(len(texts)))
        words = int(np.exp(rng.uniform(np.log(50), np.log(600))))
        start = int(rng.integers(len(texts[topic]) - words + 1))
        essays.append(" ".join(texts[topic][start : start + words]))
        labels.append(topic % 2)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": range(rows), "text": essays, "label": labels}).to_csv(folder / "train.csv", index=False)
    pd.DataFrame({"id": [0], "text": [essays[0]]}).to_csv(folder / "test.csv", index=False)
    pd.DataFrame({"id": [0], "label": [0]}).to_csv(folder / "sample_submission.csv", index=False)
    return folder


def small_encoder(cfg: Config, folder: Path, size: dict) -> Path:
    """A model folder: the config's tokenizer beside a T5 config of `size` (random weights)."""
    from transformers import T5Config

    tokenizer = load_tokenizer(cfg.model)
    tokenizer.save_pretrained(folder)
    T5Config(vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **size).save_pretrained(folder)
    return folder


def tokens_per_second(cfg: Config, steps: int, warmup: int) -> dict:
    """Training steps (forward, backward, AdamW) of fold 0 on this machine's device: real and padded tokens/s."""
    competition, task = load_competition(cfg), get_task(cfg)
    torch.manual_seed(cfg.seed)
    net = task.build_net(cfg, competition.problem)
    rows = competition.train[competition.train.fold != 0].reset_index(drop=True)
    loader = task.loader(cfg, task.make_dataset(cfg, net, rows, "train", competition.problem), train=True)
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.accelerator != "cpu" else "cpu")
    net.to(device).train()
    optimizer, loss_fn = torch.optim.AdamW(net.parameters(), lr=1e-4), make_loss(competition.problem)
    real = padded = 0
    seconds, done = 0.0, 0
    while done < warmup + steps:
        for batch in loader:
            if done == warmup + steps:
                break
            start = time.perf_counter()
            batch = {key: value.to(device) for key, value in batch.items()}
            loss = loss_fn(net(batch["input_ids"], batch["attention_mask"]), batch["target"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            if done >= warmup:
                seconds += time.perf_counter() - start
                real += int(batch["attention_mask"].sum())
                padded += batch["input_ids"].numel()
            done += 1
    return {
        "real_tokens_per_s": real / seconds,
        "padded_tokens_per_s": padded / seconds,
        "pad_share": 1 - real / padded,
    }


def texts_at_real_lengths(
    cfg: Config, steps: int = 6, warmup: int = 2, max_length: int = 512, size: dict = T5_SMALL
) -> dict:
    """Tokens/s of an encoder of `size` (t5-small's) on the essays, batches of 8 truncated to `max_length`
    tokens: dynamic padding with length grouping, and every batch padded to max_length."""
    report = {}
    with tempfile.TemporaryDirectory(prefix="bench-texts-") as tmp:
        folder, model = essay_competition(Path(tmp) / "essays"), small_encoder(cfg, Path(tmp) / "encoder", size)
        data = replace(
            cfg.data, dir=str(folder), text_cols=["text"], target_cols=["label"], max_length=max_length, batch_size=8
        )
        base = replace(
            cfg,
            data=data,
            model=replace(cfg.model, name=str(model), pretrained=False, mode="encoder", tokenizer=None),
            cv=replace(cfg.cv, n_folds=2, splitter="kfold"),
            output_dir=tmp,
            problem="multiclass",
        )
        for name, padding, grouped in (("dynamic", "dynamic", True), ("max_length", "max_length", False)):
            run = replace(base, data=replace(data, padding=padding, group_by_length=grouped))
            report[name] = tokens_per_second(run, steps, warmup)
    report["ratio"] = report["dynamic"]["real_tokens_per_s"] / report["max_length"]["real_tokens_per_s"]
    report["tokens"] = max_length
    return report


def print_texts(texts: dict) -> None:
    """Real tokens/s with dynamic padding and length grouping against padding every batch to max_length."""
    print(f"\nEssays of 50-600 words, a t5-small-sized encoder, batches of 8 truncated to {texts['tokens']} tokens")
    print(f"{'padding':>22}  {'real tokens/s':>13}  {'computed tokens/s':>17}  {'pads':>5}")
    for name, label in (("dynamic", "dynamic + grouped"), ("max_length", "to max_length")):
        run = texts[name]
        print(
            f"{label:>22}  {run['real_tokens_per_s']:>13.0f}  {run['padded_tokens_per_s']:>17.0f}  "
            f"{run['pad_share'] * 100:>4.0f}%"
        )
    print(f"dynamic padding + length grouping trains {texts['ratio']:.2f}x the real tokens per second")


def real_sizes(cfg: Config, sizes: tuple[int, ...] = (512,)) -> dict:
    """texts_at_real_lengths at each of `sizes` tokens."""
    return {size: texts_at_real_lengths(cfg, max_length=size) for size in sizes}


def print_real_sizes(report: dict) -> None:
    for texts in report.values():
        print_texts(texts)
