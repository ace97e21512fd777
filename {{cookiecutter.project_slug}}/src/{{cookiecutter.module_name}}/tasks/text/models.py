"""Hugging Face text networks: any encoder with masked mean pooling and a head, and T5 text-to-text.

`model.name` is a hub name or a local folder (an offline Kaggle kernel's dataset) with config.json and
the tokenizer; `model.pretrained: false` builds the architecture from config.json with random weights.
"""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSeq2SeqLM,
    AutoTokenizer,
    LongT5EncoderModel,
    MT5EncoderModel,
    PretrainedConfig,
    PreTrainedTokenizerBase,
    T5EncoderModel,
    UMT5EncoderModel,
)

from ...config import Config, ConfigError, ModelConfig
from ...data.demo import ensure_demo

# AutoModel would build T5's decoder too; these are the T5 family's encoder-only classes.
T5_ENCODERS = {"t5": T5EncoderModel, "mt5": MT5EncoderModel, "umt5": UMT5EncoderModel, "longt5": LongT5EncoderModel}
FLOAT16 = ("16", "16-mixed", "16-true")
INPUT_KEYS = ("input_ids", "attention_mask", "labels")  # what the models' forward takes (labels: text2text's)


def model_config(cfg: ModelConfig) -> PretrainedConfig:
    ensure_demo(cfg.name)
    try:
        return AutoConfig.from_pretrained(cfg.name)
    except (OSError, ValueError) as error:
        raise ConfigError(f"config key 'model.name': {cfg.name!r} {not_found(cfg.name, error)}") from None


def load_tokenizer(cfg: ModelConfig) -> PreTrainedTokenizerBase:
    name, key = (cfg.tokenizer, "model.tokenizer") if cfg.tokenizer else (cfg.name, "model.name")
    ensure_demo(name)
    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        raise ConfigError(f"config key {key!r}: no tokenizer in {name!r}: {not_found(name, error)}") from None


def not_found(name: str, error: Exception) -> str:
    """Why a Hugging Face name did not load, in a few words: a folder that is not there, or the library's reason."""
    path = Path(name)
    if (path.is_absolute() or name.startswith(".") or len(path.parts) > 2) and not path.exists():
        return f"is not a folder (from {Path.cwd()}): give the folder holding config.json and the tokenizer"
    reason = str(error).strip().splitlines()[0][:300]
    return f"is neither a local folder nor a model in the Hugging Face cache ({reason}); offline, give a local folder"


def check_precision(cfg: Config) -> None:
    """Refuse float16 for T5 before any work: its activations outgrow float16's range and the loss turns NaN."""
    if str(cfg.trainer.precision) in FLOAT16 and model_config(cfg.model).model_type in T5_ENCODERS:
        raise ConfigError(
            f"config key 'trainer.precision': {cfg.trainer.precision} overflows to NaN in T5 "
            "(activations beyond float16's 65504); use bf16-mixed on GPUs that have it, or 32-true"
        )


def _gradient_checkpointing(model: nn.Module, cfg: ModelConfig) -> None:
    if cfg.gradient_checkpointing:
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})


class TextModel(nn.Module):
    """An encoder (T5's, or any AutoModel: DeBERTa, MiniLM, ...), masked mean pooling and a linear head."""

    def __init__(self, cfg: ModelConfig, num_outputs: int):
        super().__init__()
        config = model_config(cfg)
        encoder = T5_ENCODERS.get(config.model_type)
        if cfg.pretrained:  # from_pretrained returns eval mode, dropout off, and Lightning keeps modules' modes
            self.backbone = (encoder or AutoModel).from_pretrained(cfg.name).train()
        else:  # T5EncoderModel changes the config it is given
            self.backbone = encoder(copy.deepcopy(config)) if encoder else AutoModel.from_config(config)
        _gradient_checkpointing(self.backbone, cfg)
        self.tokenizer = load_tokenizer(cfg)
        self.dropout = nn.Dropout(cfg.drop_rate)
        self.head = nn.Linear(config.hidden_size, num_outputs)
        if cfg.compile:
            self.compile()

    def features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """The mean of the encoder's outputs over each text's tokens, padding left out: [rows, hidden]."""
        hidden = self.backbone(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(features))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(input_ids, attention_mask))


class Text2TextModel(nn.Module):
    """T5 (or any seq2seq model) that writes the label: trained on the label's tokens, predicting by generating."""

    def __init__(self, cfg: ModelConfig, classes: tuple):
        super().__init__()
        self.tokenizer = load_tokenizer(cfg)
        if cfg.pretrained:  # in training mode, as above
            self.backbone = AutoModelForSeq2SeqLM.from_pretrained(cfg.name).train()
        else:
            self.backbone = AutoModelForSeq2SeqLM.from_config(copy.deepcopy(model_config(cfg)))
        _gradient_checkpointing(self.backbone, cfg)
        self.classes = [str(c) for c in classes]
        self.max_new_tokens = max(len(ids) for ids in self.tokenizer(text_target=self.classes)["input_ids"])

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Next-token logits [rows, label tokens, vocabulary], the decoder fed the label shifted right."""
        decoder_input_ids = self.backbone.prepare_decoder_input_ids_from_labels(labels=labels)
        return self.backbone(
            input_ids=input_ids, attention_mask=attention_mask, decoder_input_ids=decoder_input_ids
        ).logits

    @torch.no_grad()
    def generate_labels(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> list[str]:
        tokens = self.backbone.generate(
            input_ids=input_ids, attention_mask=attention_mask, max_new_tokens=self.max_new_tokens, do_sample=False
        )
        return [text.strip() for text in self.tokenizer.batch_decode(tokens, skip_special_tokens=True)]

    def predict(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """One row per text: 1 for the class it wrote; 1/classes everywhere when it wrote no class's name."""
        index = {name: i for i, name in enumerate(self.classes)}
        probs = torch.full((len(input_ids), len(self.classes)), 1 / len(self.classes))
        for row, text in enumerate(self.generate_labels(input_ids, attention_mask)):
            if text in index:
                probs[row] = 0.0
                probs[row, index[text]] = 1.0
        return probs


def text2text_probs(net: Text2TextModel, batch: dict, problem) -> torch.Tensor:
    """The label each row's text generated, as a one-hot row laid out as the problem's predictions."""
    probs = net.predict(batch["input_ids"], batch["attention_mask"])
    return probs[:, 1:] if problem.kind == "binary" else probs  # binary: the second class's column
