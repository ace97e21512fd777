import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
import torch
import transformers
from transformers import AutoModel, AutoTokenizer

p = "/tmp/real18/minilm"
tok = AutoTokenizer.from_pretrained(p)
m = AutoModel.from_pretrained(p).eval()
s = ["A man is playing a guitar.", "Someone plays an instrument.", "The stock market fell today."]
b = tok(s, padding=True, truncation=True, return_tensors="pt")
with torch.no_grad():
    o = m(**b).last_hidden_state
mask = b["attention_mask"].unsqueeze(-1).float()
e = (o * mask).sum(1) / mask.sum(1)
e = torch.nn.functional.normalize(e, dim=-1)
print("transformers", transformers.__version__, type(tok).__name__, type(m).__name__, "hidden", o.shape)
print("emb shape", e.shape, f"cos(0,1)={(e[0] @ e[1]).item():.3f} cos(0,2)={(e[0] @ e[2]).item():.3f}")
