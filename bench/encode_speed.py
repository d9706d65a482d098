"""Python anchor for encode speed: sentence-transformers 3.3.1 with the same model files,
batch 32, on the same sentences `consult embed` gets. Prints one JSON line."""
import json, os, sys, time
os.environ["HF_HUB_OFFLINE"] = "1"
import torch
from sentence_transformers import SentenceTransformer

path, model_dir = sys.argv[1], sys.argv[2]
lines = open(path, encoding="utf-8").read().splitlines()
t0 = time.perf_counter()
m = SentenceTransformer(model_dir, device="cpu")
load = time.perf_counter() - t0
t1 = time.perf_counter()
m.encode(lines, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
secs = time.perf_counter() - t1
print(json.dumps({"texts": len(lines), "load_seconds": load, "embed_seconds": secs,
                  "texts_per_second": len(lines) / secs, "torch_threads": torch.get_num_threads()}))
