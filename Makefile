# podgym: `make run` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup run test lint results flagship

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first, so that nothing below pulls a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev,ray]'
	touch $(STAMP)

setup: $(STAMP)

# The main job on the default scenario: simulate with kube-scheduler, train a policy (clone kube-default, then PPO;
# about three minutes on a quiet 2-core machine),
# evaluate it against the baselines on ten unseen seeds, export it as a plugin model.
RUN := runs/quickstart-$(shell date +%Y%m%d-%H%M%S)
SEEDS := 100 101 102 103 104 105 106 107 108 109

run: setup
	$(PY) -m podgym.envs.simulate
	$(PY) train.py --run-dir $(RUN)
	$(PY) evaluate.py --policies $(RUN) random round-robin kube-default best-fit fgd kube-default+gpu-packing --scenarios default \
		--seeds $(SEEDS) --workers 2 --out $(RUN)/evaluation
	$(PY) export.py $(RUN) --out $(RUN)/exported
	@echo "Report: $(RUN)/evaluation/report.html   Plugin model: $(RUN)/exported/policy.onnx"

# The openb experiment: FGD cloned on 64-node samples of openb (configs/train/openb-small__bc_fgd.yaml), three
# training seeds side by side, each exported; then the FGD paper's experiment on the full 1,213-node cluster, seeds
# 42-51: the three policies on the default trace, and seed 0's on every shipped trace, each beside FGD (summary.md:
# means, spreads, paired differences to FGD). About 30 minutes on a quiet 2-core machine.
FLAGSHIP := runs/flagship-$(shell date +%Y%m%d-%H%M%S)
OPENB_TRACES := $(patsubst %.gz,%,$(wildcard envs/data/openb/csv/openb_pod_list_*.csv.gz))

flagship: setup
	$(PY) train.py --config configs/train/openb-small__bc_fgd.yaml --seeds 0 1 2 --run-dir $(FLAGSHIP)
	for s in 0 1 2; do \
		$(PY) export.py $(FLAGSHIP)/seed-$$s --out $(FLAGSHIP)/seed-$$s/exported \
			--typical-pods envs/data/openb/csv/openb_pod_list_default.csv && \
		ln -sf policy.onnx $(FLAGSHIP)/seed-$$s/exported/seed-$$s.onnx || exit 1; \
	done
	$(PY) evaluate.py --config configs/eval/fgd-openb.yaml --workers 2 --out $(FLAGSHIP)/default-trace \
		--policies $(foreach s,0 1 2,$(FLAGSHIP)/seed-$(s)/exported/seed-$(s).onnx) fgd best-fit
	$(PY) evaluate.py --config configs/eval/fgd-openb.yaml --workers 2 --out $(FLAGSHIP)/all-traces \
		--policies $(FLAGSHIP)/seed-0/exported/seed-0.onnx fgd --pods $(OPENB_TRACES)
	@echo "Reports: $(FLAGSHIP)/default-trace/summary.md $(FLAGSHIP)/all-traces/summary.md"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

test: setup lint
	$(PY) -m pytest -q -n 2

# docs/results.md from the commands it quotes, on this machine (a few minutes). LEARNED=RUN, LEARNED_OPENB=RUN and
# LEARNED_HA='RUNS/seed-0 RUNS/seed-1 ...' evaluate trained runs too; without them the learned rows are carried from
# docs/results_learned.json.
results: setup
	$(PY) docs/make_results.py $(if $(LEARNED),--learned $(LEARNED)) $(if $(LEARNED_OPENB),--learned-openb $(LEARNED_OPENB)) \
		$(if $(LEARNED_HA),--learned-ha $(LEARNED_HA))
