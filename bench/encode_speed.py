"""Python anchor for encode speed: sentence-transformers 3.3.1 with the same model files,
batch 32, on the same sentences `consult embed` gets. Prints one JSON line.

    python bench/encode_speed.py SENTENCES.txt MODEL_DIR [fp32|bf16]

bf16 converts the model with `model.to(torch.bfloat16)`, the way a Python user would."""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from sentence_transformers import SentenceTransformer

path, model_dir = sys.argv[1], sys.argv[2]
precision = sys.argv[3] if len(sys.argv) > 3 else "fp32"
lines = open(path, encoding="utf-8").read().splitlines()
t0 = time.perf_counter()
m = SentenceTransformer(model_dir, device="cpu")
if precision == "bf16":
    m = m.to(torch.bfloat16)
load = time.perf_counter() - t0
t1 = time.perf_counter()
m.encode(lines, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
secs = time.perf_counter() - t1
print(json.dumps({"texts": len(lines), "load_seconds": load, "embed_seconds": secs,
                  "texts_per_second": len(lines) / secs, "torch_threads": torch.get_num_threads(), "precision": precision}))
