# consult: the two commands a fresh clone needs are `make demo` and `make test`.
# Both run `make setup` first: a cached Python venv with torch 2.4.0 (libtorch) and the
# all-MiniLM-L6-v2 model files, checksummed into models/. A second run downloads nothing.

CARGO ?= cargo
BIN := target/release/consult
SHARED ?= ../shared
export CARGO_TERM_COLOR := never

.PHONY: setup setup-render build sentiment-model codebook-examples demo test lint bench bench-setup train-sentiment reference-vectors clean-reports

setup:
	bash scripts/setup-venv.sh

# Chromium, LibreOffice and poppler-utils for the report render checks (tests/report.rs).
setup-render:
	bash scripts/setup-render.sh

build: setup
	$(CARGO) build --release --locked

# The fine-tuned sentiment model (~87 MB, not committed), trained from $(SHARED)/data in two
# steps (~7 min each on 2 cores): the recipe with fold 0 held out, whose held-out figures
# are the ones reported ($(HELDOUT)), then the same recipe on every fold, the model consult
# uses ($(TUNED)), which carries those figures. Each is reused while its meta.json records
# the same command and label files (and, for the second, the same held-out sibling). A
# checkout whose $(TUNED) predates the second step keeps it as the held-out model.
# Without the data, consult uses what is there, else the committed frozen head.
TUNED := models/sentiment/tuned
HELDOUT := models/sentiment/tuned-heldout
sentiment-model: build
	@if [ ! -d $(HELDOUT) ] && [ -f $(TUNED)/meta.json ] && ! grep -q '"all_folds": true' $(TUNED)/meta.json; then mv $(TUNED) $(HELDOUT); fi
	@if [ -d $(SHARED)/data/nhs_fft ]; then $(BIN) train-sentiment --tune --if-stale --data $(SHARED)/data --out $(HELDOUT) \
	  && $(BIN) train-sentiment --tune --all-folds --if-stale --data $(SHARED)/data --out $(TUNED); \
	elif [ -f $(TUNED)/model.safetensors ]; then echo "sentiment-model: no $(SHARED)/data; keeping $(TUNED)"; \
	else echo "sentiment-model: no $(SHARED)/data; consult will use the frozen head models/sentiment/head.json"; fi

# The default codebook's hand-coded examples (not committed: the statements' text stays in
# $(SHARED)/data): our 410 labelled Polis statements and 212 manifesto sentences, which `consult analyse` adds to the
# codebook's own examples. Without the data, the codebook's own examples are used alone.
EXAMPLES := models/codebooks/strategic-plan-2022-26.examples.csv
codebook-examples:
	@if [ -d $(SHARED)/data/polis ]; then python3 scripts/codebook_examples.py $(SHARED)/data eval/dev/polis_labels.csv eval/dev/manifesto_code_labels.csv $(EXAMPLES); \
	else echo "codebook-examples: no $(SHARED)/data; the default codebook keeps its own examples only"; fi

demo: sentiment-model codebook-examples
	rm -rf reports/demo
	$(BIN) analyse fixtures/strategic-plan-consultation.csv \
	  --by "Are you responding as..." --by District --out reports/demo
	@echo "demo: wrote reports/demo/ (summary.md, report.html, tables.xlsx, report.docx, coded_responses.csv, tables/, run.json)"

# The whole suite: unit tests and integration tests on the real model and real data, then
# clippy with warnings as errors (a check build: about two minutes on a clean clone).
test: sentiment-model codebook-examples setup-render
	$(CARGO) test --release --locked -- --test-threads=1
	$(MAKE) lint

lint:
	$(CARGO) clippy --release --locked --all-targets -- -D warnings

train-sentiment: build
	$(BIN) train-sentiment --data $(SHARED)/data --out models/sentiment/head.json

bench-setup:
	bash scripts/setup-bench.sh

# Figures for BENCHMARKS.md: encode speed vs Python, outcome-level accuracy, sentiment, end to end.
# Some sections only: make bench BENCH_SECTIONS="e2e recode memory"; sizes: BENCH_N, BENCH_N_LARGE.
bench: build bench-setup
	bash bench/run.sh $(BENCH_SECTIONS)

reference-vectors: bench-setup
	.venv/bin/python scripts/make_reference_vectors.py

clean-reports:
	rm -rf reports/demo
