#!/usr/bin/env bash
# A fake training container that reports progress (the sandbox's FAKE_TRAINER, for runtime/lib/progress.py's tests),
# run by the docker stub with the container's environment. Knobs: FAKE_PROGRESS (jsonl: JSON lines appended to
# GTI_PROGRESS_FILE; hf: only Hugging Face's checkpoint-<n>/trainer_state.json every FAKE_SAVE_EVERY steps; none),
# FAKE_STEPS (20), FAKE_STEP_SECONDS (0.05), FAKE_HANG_AFTER (a step after which it hangs, alive and silent, like a job
# stuck in an NCCL collective, until FAKE_RELEASE_FILE exists), FAKE_BAD_LINES (1: malformed lines and non-numeric
# fields first), FAKE_FLOOD_BYTES (that many bytes of valid lines at once, first). Exits 0, or 143 on SIGTERM.
set -euo pipefail
trap 'echo "SIGTERM at step ${step:-0}"; exit 143' TERM
steps=${FAKE_STEPS:-20} mode=${FAKE_PROGRESS:-jsonl} every=${FAKE_SAVE_EVERY:-5}
file=${GTI_PROGRESS_FILE:-/dev/null}
exec {quiet}<> <(:) # a pipe nobody writes to: `read -t` on it sleeps without a process, and a signal interrupts it
nap() { read -r -t "$1" -u "$quiet" _ || true; }

if [ "${FAKE_BAD_LINES:-0}" = 1 ]; then
  # 6 malformed lines, then a valid one whose non-numeric fields are ignored
  printf '%s\n' 'not json at all' '[1, 2, 3]' '{"loss": 1.5}' '{"step": "ten"}' '{"step": NaN}' '{"step": -4}' \
    '{"step": 0, "note": "warmup", "loss": "high", "lr": [0.1], "ok": true, "grad_norm": 2.5}' >>"$file"
fi
if [ -n "${FAKE_FLOOD_BYTES:-}" ]; then
  yes '{"step": 0, "total_steps": 20, "loss": 9.5}' | head -c "$FAKE_FLOOD_BYTES" >>"$file" || true
  echo >>"$file"
fi

for ((step = 1; step <= steps; step++)); do
  nap "${FAKE_STEP_SECONDS:-0.05}"
  if [ -n "${FAKE_HANG_AFTER:-}" ] && [ "$step" -gt "$FAKE_HANG_AFTER" ]; then
    echo "hung after step $FAKE_HANG_AFTER"
    until [ -e "${FAKE_RELEASE_FILE:-/nonexistent}" ]; do nap 0.05; done
    break
  fi
  loss=$(printf '%d.%03d' $(((3000 - 100 * step) / 1000)) $(((3000 - 100 * step) % 1000)))
  case $mode in
    jsonl)
      printf '{"step": %d, "total_steps": %d, "loss": %s, "samples_per_second": 41.5, "learning_rate": 0.0002, "phase": "train"}\n' \
        "$step" "$steps" "$loss" >>"$file" ;;
    hf)
      if [ $((step % every)) -eq 0 ]; then
        dir=$CHECKPOINT_DIR/checkpoint-$step history=""
        [ -d "$dir" ] || mkdir -p "$dir"
        for ((s = 1; s <= step; s++)); do
          history+="${history:+, }{\"epoch\": 0.$s, \"grad_norm\": 1.5, \"learning_rate\": 0.0002, \"loss\": $(printf '%d.%03d' $(((3000 - 100 * s) / 1000)) $(((3000 - 100 * s) % 1000))), \"step\": $s}"
        done
        printf '{"best_metric": null, "epoch": 0.%d, "global_step": %d, "max_steps": %d, "log_history": [%s], "logging_steps": 1, "save_steps": %d}\n' \
          "$step" "$step" "$steps" "$history" "$every" >"$dir/trainer_state.json"
        : >"$dir/COMPLETE" # touch (an empty file)
      fi ;;
  esac
  echo "step $step loss=$loss"
done
echo "model after $steps steps" >"$OUTPUT_DIR/model.bin"
echo "training finished"
