"""The NLP baseline on the docstrings demo, with tiny transformers built from their configs and a tokenizer
trained on the fly: nothing is downloaded."""

import math
import shutil
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import PROJECT, needs, notebook_text, predict_from_bundle, run_eda

from {{ cookiecutter.module_name }}.config import ConfigError, load_config
from {{ cookiecutter.module_name }}.cv.fold import build_fold, build_module_and_data
from {{ cookiecutter.module_name }}.cv.fold_data import FoldDataModule
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.data.demo import tiny_t5_config, train_tokenizer, write_docstrings
from {{ cookiecutter.module_name }}.run.errors import DataError
from {{ cookiecutter.module_name }}.submission.predict import load_fold_model, predict
from {{ cookiecutter.module_name }}.tasks import get_task
from {{ cookiecutter.module_name }}.tasks.text.models import Text2TextModel, TextModel

ONE_EPOCH = {"max_epochs": 1, "num_sanity_val_steps": 0}


@pytest.fixture(scope="module")
def docstrings_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data") / "docstrings"
    write_docstrings(folder)
    return folder


@pytest.fixture(scope="module")
def t5_dir(docstrings_dir, tmp_path_factory):
    """A 2-layer T5 of width 64 and a 2,000-token tokenizer trained on the demo texts, saved as a model folder."""
    folder = tmp_path_factory.mktemp("models") / "t5"
    tokenizer = train_tokenizer(pd.read_csv(docstrings_dir / "train.csv").text.tolist(), folder, vocab_size=2000)
    config = tiny_t5_config(len(tokenizer))
    config.update({"d_model": 64, "d_kv": 16, "d_ff": 128})
    config.save_pretrained(folder)
    return folder


def text_cfg(data_dir, model_dir, output_dir, n_folds=5, trainer=None, **sections):
    """configs/nlp.yaml on the given data and model folders, quiet; `sections` replace keys per section."""
    base = load_config(PROJECT / "configs" / "nlp.yaml")
    cfg = replace(
        base,
        output_dir=str(output_dir),
        data=replace(base.data, dir=str(data_dir)),
        model=replace(base.model, name=str(model_dir)),
        cv=replace(base.cv, n_folds=n_folds),
        optim=replace(base.optim, backbone_lr=None, layer_decay=1.0),  # what auto chooses for a model from scratch
        callbacks=replace(base.callbacks, early_stopping_patience=None),
        trainer=replace(
            base.trainer, enable_progress_bar=False, enable_model_summary=False, **{"max_epochs": 5, **(trainer or {})}
        ),
    )
    return replace(cfg, **{name: replace(getattr(cfg, name), **keys) for name, keys in sections.items()})


@pytest.fixture
def cfg(docstrings_dir, t5_dir, tmp_path):
    cfg = text_cfg(docstrings_dir, t5_dir, tmp_path / "outputs")
    return replace(cfg, optim=replace(cfg.optim, lr=3e-3))  # the tiny model learns in two epochs at this rate


def majority_share(cfg, fold=0):
    valid = load_competition(cfg).train.query(f"fold == {fold}")
    return valid.library.value_counts(normalize=True).max()


def test_a_fold_beats_chance_and_its_oof_holds_every_validation_row(cfg):
    cfg = replace(cfg, trainer=replace(cfg.trainer, max_epochs=2))
    score = train(cfg, folds=[0])["folds"][0]
    chance = majority_share(cfg)
    assert score > chance + 0.2, f"accuracy {score:.3f} after 2 epochs; always guessing the largest class: {chance:.3f}"
    oof = pd.read_csv(cfg.fold_dir(0) / "oof.csv")
    valid = load_competition(cfg).train.query("fold == 0")
    assert sorted(oof.id) == sorted(valid.id)
    assert list(oof.filter(like="prob_").columns) == ["prob_numpy", "prob_pandas", "prob_torch"]


def test_pairs_are_encoded_together_and_train(cfg):
    cfg = replace(cfg, data=replace(cfg.data, text_cols=["name", "text"]), trainer=replace(cfg.trainer, **ONE_EPOCH))
    module, data, _, _ = build_fold(cfg, load_competition(cfg), 0)
    row = data.train_rows.iloc[0]
    tokenizer = module.net.tokenizer
    assert data.train_set.encodings[0] == tokenizer(row["name"], row["text"], truncation=True, max_length=128).input_ids
    assert data.train_set.encodings[0].count(tokenizer.eos_token_id) == 2  # name </s> text </s>
    assert train(cfg, folds=[0])["folds"][0] > majority_share(cfg)


def batches(cfg, train=True):
    task = get_task(cfg)
    data = FoldDataModule(cfg, task, load_competition(cfg), 0, TextModel(cfg.model, 3))
    dataset = data.train_set if train else data.valid_set
    return dataset, list(task.loader(cfg, dataset, train=train))


def test_batches_are_padded_to_their_own_longest_text(cfg):
    cfg = replace(cfg, data=replace(cfg.data, max_length=512))  # few texts reach it
    _, loaded = batches(cfg, train=False)
    widths = {batch["input_ids"].shape[1] for batch in loaded}
    assert len(widths) > 3 and max(widths) <= cfg.data.max_length
    for batch in loaded:  # no batch is wider than its longest text
        assert batch["attention_mask"].sum(dim=1).max() == batch["input_ids"].shape[1]
    fixed = replace(cfg, data=replace(cfg.data, padding="max_length"))
    assert {batch["input_ids"].shape[1] for batch in batches(fixed, train=False)[1]} == {fixed.data.max_length}


def test_length_grouping_keeps_every_row_once_and_pads_less(cfg):
    torch.manual_seed(0)
    dataset, grouped = batches(cfg)
    rows = torch.cat([batch["attention_mask"].sum(dim=1) for batch in grouped])
    assert sorted(rows.tolist()) == sorted(dataset.lengths)  # each row once: the epoch's lengths are the data's
    assert len(rows) == len(dataset)
    _, shuffled = batches(replace(cfg, data=replace(cfg.data, group_by_length=False)))
    padded = lambda loaded: sum(batch["input_ids"].numel() for batch in loaded)  # noqa: E731
    assert padded(grouped) < 0.8 * padded(shuffled)


def test_texts_are_tokenized_once_not_every_epoch(cfg, monkeypatch):
    calls = []
    net = TextModel(cfg.model, 3)
    tokenize = type(net.tokenizer).__call__
    monkeypatch.setattr(
        type(net.tokenizer), "__call__", lambda self, *a, **k: calls.append(1) or tokenize(self, *a, **k)
    )
    data = FoldDataModule(cfg, get_task(cfg), load_competition(cfg), 0, net)
    for _ in range(2):
        list(data.train_dataloader()), list(data.val_dataloader())
    assert len(calls) == 2  # the training rows and the validation rows, once each


def test_an_empty_text_is_refused_naming_the_column_and_row(cfg, tmp_path, capsys):
    rows = pd.read_csv(f"{cfg.data.dir}/train.csv")
    rows.loc[5, "text"] = " "
    data_dir = tmp_path / "data"
    shutil.copytree(cfg.data.dir, data_dir)
    rows.to_csv(data_dir / "train.csv", index=False)
    cfg = replace(cfg, data=replace(cfg.data, dir=str(data_dir)))
    with pytest.raises(
        DataError, match=f"1 of {len(rows)} rows of train.csv .*row id '{rows.id[5]}', empty text in column 'text'"
    ):
        load_competition(cfg)
    skipping = replace(cfg, data=replace(cfg.data, skip_bad_rows=True))
    kept = load_competition(skipping).train
    assert len(kept) == len(rows) - 1 and rows.id[5] not in set(kept.id)
    assert f"left out 1 of {len(rows)} rows of train.csv" in capsys.readouterr().out


def test_text2text_writes_label_strings_and_beats_chance(cfg):
    cfg = replace(
        cfg,
        model=replace(cfg.model, mode="text2text"),
        trainer=replace(cfg.trainer, max_epochs=3),
    )
    score = train(cfg, folds=[0])["folds"][0]
    assert score > majority_share(cfg) + 0.2
    probs = pd.read_csv(cfg.fold_dir(0) / "oof.csv").filter(like="prob_").to_numpy()
    assert set(np.unique(probs)) <= {0.0, 1.0, 1 / 3}  # one-hot rows of the label it wrote (uniform: none)
    competition = load_competition(cfg)
    net = load_fold_model(cfg, competition, 0)
    batch = next(iter(FoldDataModule(cfg, get_task(cfg), competition, 0, net).val_dataloader()))
    written = net.generate_labels(batch["input_ids"], batch["attention_mask"])
    assert len(written) == len(batch["input_ids"]) and set(written) <= {"numpy", "pandas", "torch"}


def test_any_hugging_face_encoder_trains_a_fold(cfg, t5_dir, tmp_path):
    from transformers import AutoTokenizer, BertConfig

    folder = tmp_path / "minilm"  # a BERT-style encoder, as MiniLM is, with the demo's tokenizer
    AutoTokenizer.from_pretrained(t5_dir).save_pretrained(folder)
    BertConfig(
        vocab_size=2000, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128
    ).save_pretrained(folder)
    cfg = replace(cfg, model=replace(cfg.model, name=str(folder)), trainer=replace(cfg.trainer, max_epochs=2))
    module, *_ = build_fold(cfg, load_competition(cfg), 0)
    assert type(module.net.backbone).__name__ == "BertModel"
    assert train(cfg, folds=[0])["folds"][0] > majority_share(cfg) + 0.1


def test_float16_is_refused_for_t5_before_anything_is_written(cfg):
    cfg = replace(cfg, trainer=replace(cfg.trainer, precision="16-mixed"))
    with pytest.raises(ConfigError, match=r"trainer.precision.*overflows to NaN in T5.*bf16-mixed"):
        train(cfg, folds=[0])
    assert not cfg.experiment_dir.exists()


def test_bf16_mixed_trains_t5(cfg):
    cfg = replace(cfg, trainer=replace(cfg.trainer, precision="bf16-mixed", limit_train_batches=4, **ONE_EPOCH))
    score = train(cfg, folds=[0])["folds"][0]
    assert 0 <= score <= 1
    assert np.isfinite(pd.read_csv(cfg.fold_dir(0) / "oof.csv").filter(like="prob_").to_numpy()).all()


def test_layer_decay_gives_each_layer_a_smaller_rate_than_the_one_above(cfg):
    cfg = replace(cfg, optim=replace(cfg.optim, lr=1e-3, backbone_lr=1e-4, layer_decay=0.5))
    module, *_ = build_fold(cfg, load_competition(cfg), 0)
    groups = module.param_groups()
    assert [g["lr"] for g in groups] == pytest.approx(
        [1e-4 / 8, 1e-4 / 4, 1e-4 / 2, 1e-4, 1e-3]
    )  # embeddings, 2 blocks, top, head
    by_id = {id(p): g["lr"] for g in groups for p in g["params"]}
    backbone = dict(module.net.backbone.named_parameters())
    assert sum(len(g["params"]) for g in groups) == len(backbone) + 2 and len(by_id) == len(backbone) + 2
    assert by_id[id(backbone["shared.weight"])] == pytest.approx(1e-4 / 8)
    assert by_id[id(backbone["encoder.block.0.layer.0.SelfAttention.q.weight"])] == pytest.approx(1e-4 / 4)
    assert by_id[id(backbone["encoder.block.1.layer.1.DenseReluDense.wo.weight"])] == pytest.approx(1e-4 / 2)
    assert by_id[id(backbone["encoder.final_layer_norm.weight"])] == pytest.approx(1e-4)


def test_mixup_mixes_pooled_features_and_targets_with_one_lambda(cfg):
    from timm.data.mixup import one_hot

    cfg = replace(cfg, mixup=replace(cfg.mixup, mixup_alpha=0.4), optim=replace(cfg.optim, label_smoothing=0.1))
    module, data, _, _ = build_fold(cfg, load_competition(cfg), 0)
    module.net.eval()  # no dropout: the features of two passes are equal
    batch = next(iter(data.train_dataloader()))
    np.random.seed(3)
    outputs, targets = module.mix(batch)
    np.random.seed(3)
    np.random.rand()  # the draw deciding whether to mix (prob 1)
    lam = np.random.beta(0.4, 0.4)
    features = module.net.features(batch["input_ids"], batch["attention_mask"])
    expected = module.net.classify(lam * features + (1 - lam) * features.flip(0))
    torch.testing.assert_close(outputs, expected)
    smooth = one_hot(batch["target"], 3, on_value=1 - 0.1 + 0.1 / 3, off_value=0.1 / 3)
    torch.testing.assert_close(targets, lam * smooth + (1 - lam) * smooth.flip(0))


def test_gradient_checkpointing_gives_the_same_gradients(cfg):
    def gradients(checkpointing):
        model_cfg = replace(cfg.model, gradient_checkpointing=checkpointing)
        torch.manual_seed(0)
        net = TextModel(model_cfg, 3).train()
        batch = net.tokenizer(
            ["Return the sum of an array.", "Apply a function to each row."], padding=True, return_tensors="pt"
        )
        net(batch["input_ids"], batch["attention_mask"]).sum().backward()
        return net.backbone.is_activation_checkpointing, [p.grad for p in net.parameters()]

    (on, with_checkpoints), (off, without) = gradients(True), gradients(False)
    assert on and not off
    for a, b in zip(with_checkpoints, without, strict=True):
        torch.testing.assert_close(a, b)


def test_folds_then_predict_write_a_valid_submission(cfg):
    cfg = replace(cfg, cv=replace(cfg.cv, n_folds=2), trainer=replace(cfg.trainer, **ONE_EPOCH))
    result = train(cfg, folds=[0, 1])
    assert result["cv"]["n_rows"] == len(load_competition(cfg).train)
    submission = pd.read_csv(predict(cfg))
    sample = pd.read_csv(f"{cfg.data.dir}/sample_submission.csv")
    assert list(submission.columns) == ["id", "library"] and submission.id.equals(sample.id)
    assert set(submission.library) <= {"numpy", "pandas", "torch"}


def test_texts_train_with_pseudo_labels_from_another_experiment(cfg):
    cfg = replace(cfg, cv=replace(cfg.cv, n_folds=2), trainer=replace(cfg.trainer, **ONE_EPOCH))
    train(cfg, folds=[0, 1])
    predict(cfg)  # each fold's test predictions label the test texts for that fold
    student = replace(cfg, experiment="student", data=replace(cfg.data, pseudo_labels=cfg.experiment))
    competition = load_competition(student)
    _, data = build_module_and_data(student, competition, 1)
    n_train = int((competition.train.fold != 1).sum())
    assert data.pseudo_rows == len(competition.test) and len(data.train_set) == n_train + len(competition.test)
    first_test = data.train_set[n_train]  # the first test text, tokenized as a training row with its soft label
    assert len(first_test["input_ids"]) > 2 and first_test["target"].shape == (3,)
    assert first_test["target"].sum() == pytest.approx(1, abs=1e-5)
    assert len(data.valid_set) == int((competition.train.fold == 1).sum())
    assert train(student, folds=[0, 1])["cv"]["n_rows"] == len(competition.train)


def test_the_demo_model_folder_is_written_once_and_reused(docstrings_dir, tmp_path, monkeypatch):
    from {{ cookiecutter.module_name }}.data.demo import DEMO_ROOT, DOCSTRINGS, ensure_demo

    monkeypatch.chdir(tmp_path)
    DOCSTRINGS.parent.mkdir(parents=True)
    shutil.copytree(docstrings_dir, DOCSTRINGS)  # the demo competition its tokenizer is trained on
    ensure_demo(DEMO_ROOT / "t5-tiny")
    tokenizer = DEMO_ROOT / "t5-tiny" / "tokenizer.json"
    written = tokenizer.stat().st_mtime_ns
    ensure_demo(DEMO_ROOT / "t5-tiny")
    assert tokenizer.stat().st_mtime_ns == written  # a retrained tokenizer could renumber the tokens
    assert sorted(p.name for p in (DEMO_ROOT / "t5-tiny").iterdir()) == [
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
    ]


def test_pretrained_t5_weights_load_from_a_local_folder(cfg, t5_dir, tmp_path):
    """An offline Kaggle kernel's model dataset: a whole T5 checkpoint, whose encoder the baseline uses."""
    from transformers import AutoConfig, AutoTokenizer, T5ForConditionalGeneration

    folder = tmp_path / "t5-pretrained"
    torch.manual_seed(1)
    saved = T5ForConditionalGeneration(AutoConfig.from_pretrained(t5_dir))
    saved.save_pretrained(folder)
    AutoTokenizer.from_pretrained(t5_dir).save_pretrained(folder)
    net = TextModel(replace(cfg.model, name=str(folder), pretrained=True), 3)
    loaded = net.backbone.state_dict()
    for name, tensor in saved.encoder.state_dict().items():
        torch.testing.assert_close(loaded[f"encoder.{name}"], tensor)
    # from_pretrained's eval mode would train with dropout off: Lightning 2.6 leaves each module's mode as is
    assert all(module.training for module in net.modules())
    writer = Text2TextModel(replace(cfg.model, name=str(folder), pretrained=True, mode="text2text"), ("a", "b"))
    assert all(module.training for module in writer.modules())


def test_the_demo_tokenizer_is_the_same_on_every_run(docstrings_dir, tmp_path):
    texts = pd.read_csv(docstrings_dir / "train.csv").text.tolist()
    first, _ = (train_tokenizer(texts, tmp_path / name, vocab_size=500) for name in ("a", "b"))
    assert (tmp_path / "a" / "tokenizer.json").read_bytes() == (tmp_path / "b" / "tokenizer.json").read_bytes()
    assert first.decode(first("Return the sum of an array.").input_ids, skip_special_tokens=True) == (
        "Return the sum of an array."
    )


@pytest.mark.parametrize(
    ("averaging", "weights"),
    [
        ({"ema": True, "weights": "top_k", "top_k": 2}, "the mean of the top 2 EMA checkpoints"),
        ({"weights": "swa", "swa_start_epoch": 1, "swa_lr": 1e-3}, "the SWA of the weights from epoch 1 on"),
    ],
)
def test_weight_averaging_works_for_text(cfg, averaging, weights):
    cfg = replace(
        cfg,
        averaging=replace(cfg.averaging, **averaging),
        cv=replace(cfg.cv, n_folds=2),
        trainer=replace(cfg.trainer, max_epochs=3, limit_train_batches=10, num_sanity_val_steps=0),
    )
    result = train(cfg, folds=[0, 1])["cv"]
    assert result["weights"] == weights
    assert result["cv"] > majority_share(cfg) and 0 < result["cv_best"] <= 1


@pytest.mark.slow
@needs("submission/bundle")
def test_the_kaggle_bundle_carries_the_tokenizer_and_predicts_offline(cfg, tmp_path):
    from {{ cookiecutter.module_name }}.submission.bundle.pack import make_bundle

    cfg = replace(cfg, cv=replace(cfg.cv, n_folds=5), trainer=replace(cfg.trainer, **ONE_EPOCH))
    train(cfg, folds=[0])
    expected = pd.read_csv(predict(cfg))
    bundle = make_bundle(cfg, tmp_path / "bundle")
    model = bundle / "models" / cfg.model.name.rsplit("/", 1)[-1]
    assert (model / "config.json").is_file() and (model / "tokenizer.json").is_file()
    shutil.copytree(cfg.model.name, tmp_path / "elsewhere")
    shutil.rmtree(cfg.model.name)  # the model folder the experiment was trained with is gone
    try:
        predict_from_bundle(bundle, cfg.data.dir, tmp_path / "submission.csv", cfg.experiment)
    finally:
        shutil.copytree(tmp_path / "elsewhere", cfg.model.name)
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "submission.csv"), expected)


def test_the_eda_notebook_runs_on_the_text_demo(cfg, tmp_path):
    text = notebook_text(run_eda(cfg, tmp_path))
    assert "train 'text': 0 empty; characters median" in text and "tokens median" in text
    assert "--- library = 'numpy'" in text


@needs("bench")
def test_the_bench_compares_dynamic_and_fixed_padding(cfg, capsys):
    from {{ cookiecutter.module_name }}.bench.measure import bench
    from {{ cookiecutter.module_name }}.bench.report import print_bench

    report = bench(replace(cfg, data=replace(cfg.data, batch_size=16)), steps=8, repeats=1, warmup=2)
    print_bench(report)
    assert math.isfinite(report["padding"]["ratio"]) and report["pipeline"]["tokens_per_s"] > 0
    assert "padding: to max_length" in capsys.readouterr().out


@needs("bench")
def test_the_real_length_bench_trains_on_essays_and_grouping_cuts_the_padding(cfg, tmp_path, capsys):
    from {{ cookiecutter.module_name }}.bench.essays import essay_competition, print_texts, texts_at_real_lengths

    essays = pd.read_csv(essay_competition(tmp_path / "essays", rows=64) / "train.csv")
    words = essays.text.str.split().str.len()
    assert len(essays) == 64 and words.min() >= 50 and words.max() <= 600 and words.std() > 50  # real spread
    tiny = {"d_model": 64, "d_kv": 16, "d_ff": 128, "num_layers": 1, "num_heads": 4}  # the test's own size
    report = texts_at_real_lengths(cfg, steps=3, warmup=1, max_length=1024, size=tiny)  # none truncated
    dynamic, fixed = report["dynamic"], report["max_length"]
    assert fixed["pad_share"] > dynamic["pad_share"] >= 0 and dynamic["real_tokens_per_s"] > 0
    print_texts(report)
    assert f"trains {report['ratio']:.2f}x the real tokens per second" in capsys.readouterr().out


@needs("bench")
def test_the_hand_written_fold_trains_an_encoder_on_texts(cfg):
    from {{ cookiecutter.module_name }}.bench.whole_fold import hand_fold

    score = hand_fold(replace(cfg, trainer=replace(cfg.trainer, max_epochs=1)), 0)
    oof = pd.read_csv(cfg.fold_dir(0) / "oof.csv")
    train = load_competition(cfg).train
    assert sorted(oof["id"]) == sorted(train[train.fold == 0]["id"]) and 0 <= score <= 1


@needs("ensemble")
@pytest.mark.parametrize("model", ["linear", "boosting"])
def test_the_texts_floor_fits_tfidf_on_the_folds(docstrings_dir, t5_dir, tmp_path, model):
    from {{ cookiecutter.module_name }}.ensemble.floor import fit_floor

    summary = fit_floor(text_cfg(docstrings_dir, t5_dir, tmp_path, n_folds=3), model)
    assert summary["cv"] > 0.7 and len(summary["folds"]) == 3 and "TF-IDF" in summary["floor"]


def test_a_pretrained_encoder_gets_the_usual_rates_unless_the_config_sets_them(docstrings_dir, t5_dir, tmp_path):
    from {{ cookiecutter.module_name }}.cv.tune import resolve_all

    cfg = text_cfg(docstrings_dir, t5_dir, tmp_path, optim={"backbone_lr": "auto", "layer_decay": "auto"})
    competition = load_competition(cfg)
    scratch = resolve_all(cfg, competition).optim
    assert (scratch.backbone_lr, scratch.layer_decay) == (None, 1.0)  # from scratch: the head's rate, no decay
    pretrained = replace(cfg, model=replace(cfg.model, pretrained=True))
    usual = resolve_all(pretrained, competition).optim
    assert (usual.backbone_lr, usual.layer_decay, usual.lr) == (3e-5, 0.9, cfg.optim.lr)
    explicit = replace(pretrained, optim=replace(pretrained.optim, backbone_lr=1e-4))
    assert resolve_all(explicit, competition).optim.backbone_lr == 1e-4
