"""Makes tests/data/reference_vectors.json: Python sentence-transformers 3.3.1 embeddings of
tests/data/reference_sentences.txt, from the same model files consult uses
(models/all-MiniLM-L6-v2). Run once with `make reference-vectors`; the output is committed and
the Rust test `embeddings_match_python_reference` compares against it."""
import json, os, pathlib, sys
os.environ["HF_HUB_OFFLINE"] = "1"
import sentence_transformers
from sentence_transformers import SentenceTransformer

root = pathlib.Path(__file__).resolve().parent.parent
sentences = (root / "tests/data/reference_sentences.txt").read_text(encoding="utf-8").splitlines()
model = SentenceTransformer(str(root / "models/all-MiniLM-L6-v2"), device="cpu")
vecs = model.encode(sentences, batch_size=32, normalize_embeddings=True)
out = {
    "made_by": f"sentence-transformers {sentence_transformers.__version__}, scripts/make_reference_vectors.py",
    "sentences": sentences,
    "vectors": [[round(float(x), 7) for x in v] for v in vecs],
}
(root / "tests/data/reference_vectors.json").write_text(json.dumps(out, indent=0) + "\n", encoding="utf-8")
print(f"wrote {len(sentences)} reference vectors", file=sys.stderr)
