#!/bin/bash
# The issue-18 check: on each real subset, the scikit-learn floor and the shipped recipe's CV on the same folds,
# each timed, then one report. usage: bash verify.sh BAKED_PROJECT [OUTPUT_DIR]   (after build_all.sh)
# DATASETS="fortune_topics" bash verify.sh ...  runs some of them.
set -eo pipefail
S="$(cd "$(dirname "$0")" && pwd)"
cd "$1"; OUT="${2:-/tmp/real18/sub_outputs}"
export WANDB_MODE=disabled
.venv/bin/python "$S/subsets.py" .
for c in ${DATASETS:-opencv_digits icon_context fortune_topics wordnet_lexnames}; do
  cfg=/tmp/real18/configs/sub_$c.yaml
  /usr/bin/time -f "$c floor %e s" .venv/bin/python baseline.py --config $cfg --output_dir "$OUT" 2>&1 | tail -2
  case $c in opencv_digits|icon_context)  # on pixels, boosting is the stronger floor
    /usr/bin/time -f "$c boosting floor %e s" .venv/bin/python baseline.py --config $cfg --output_dir "$OUT" \
      --model boosting --experiment "${c}_boosting" 2>&1 | tail -2;;
  esac
  /usr/bin/time -f "$c deep %e s" .venv/bin/python train.py --config $cfg --fold all --output_dir "$OUT" \
    --trainer.enable_progress_bar false --trainer.enable_model_summary false > "$OUT/$c.log" 2>&1 \
    || { tail -5 "$OUT/$c.log"; exit 1; }
  grep "^auto\|^fold .*=\|CV\|floor\| deep " "$OUT/$c.log" | tail -16
done
.venv/bin/python report.py --output_dir "$OUT"
