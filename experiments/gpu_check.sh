#!/usr/bin/env bash
# Napkin-MNIST on one large GPU: a short, prepared `paper`-profile run (latent backend at 32x32, 60k rows),
# sized to stay within ~10 minutes on one H200-class GPU. It prints the joint attribute TVD of idgen and of the
# conditional baseline, the colour-marginal TVDs, the gates and the wall time, and writes everything under
# outputs/napkin_mnist-paper/gpu_check/ (metrics.json, samples.png, tvd.png).
#
#   bash experiments/gpu_check.sh                 # with the project's .venv (make test creates it)
#   PYTHON=python bash experiments/gpu_check.sh   # with another interpreter that has the dependencies
#
# The full paper profile (200k steps per model) is `experiments/run.py experiment=napkin_mnist profile=paper`;
# this check keeps its model sizes' order but trains each model for minutes, not hours.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
export PYTHONUNBUFFERED=1
start=$(date +%s)
"$PYTHON" experiments/run.py experiment=napkin_mnist profile=paper \
  artifacts=runs/napkin_mnist-paper-gpu_check hydra.run.dir=outputs/napkin_mnist-paper/gpu_check \
  profile.rows=60000 profile.synthetic_size=60000 profile.classifier_steps=3000 \
  profile.autoencoder_steps=4000 profile.autoencoder_batch_size=256 \
  profile.latent_steps=8000 profile.latent_batch_size=1024 profile.latent_width=1024 profile.latent_depth=6 \
  profile.latent_lr=5e-4 profile.outcome_steps=8000 profile.effect_steps=8000 \
  profile.eval_images=10 profile.eval_samples=1000 "$@"
"$PYTHON" - <<'PY'
import json
m = json.load(open("outputs/napkin_mnist-paper/gpu_check/metrics.json"))["mean"]
print(f"joint TVD: idgen {m['idgen_tvd_do']:.3f}, conditional {m['conditional_tvd_do']:.3f}, "
      f"floor {m['truth_sample_tvd_floor']:.3f} (paper 0.25)")
print(f"colour-marginal TVD: idgen {m['idgen_colour_tvd_do']:.3f}, conditional {m['conditional_colour_tvd_do']:.3f}")
PY
echo "wall time: $(( $(date +%s) - start )) s"
