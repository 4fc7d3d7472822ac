#!/usr/bin/env bash
# Stands in for the training container (run by the docker stub with the container's environment, paths mapped to the
# host). Honours the environment contract: resumes from RESUME_FROM/step, writes checkpoint-<step>/ under
# CHECKPOINT_DIR (as tmp-checkpoint-<step>/, then renamed), the final model to OUTPUT_DIR, handles SIGTERM with an
# emergency checkpoint. Knobs: FAKE_STEPS (3, absolute step to reach), FAKE_STEP_SECONDS (0.05), FAKE_CKPT_EVERY (1),
# FAKE_RELEASE_FILE (run until it exists instead), FAKE_EXIT (0), FAKE_IGNORE_TERM (0).
set -euo pipefail
step=0
if [ -n "${RESUME_FROM:-}" ]; then
  step=$(cat "$RESUME_FROM/step")
  echo "resuming from $RESUME_FROM at step $step"
fi
echo "start step=$step resume=${RESUME_FROM:-}" >>"$OUTPUT_DIR/attempts.log"
echo "data files: $(find "$DATA_DIR" -type f | wc -l)"

save() {
  local tmp=$CHECKPOINT_DIR/tmp-checkpoint-$step
  mkdir -p "$tmp"
  echo "$step" >"$tmp/step"
  head -c 4096 /dev/urandom >"$tmp/weights.bin"
  rm -rf "$CHECKPOINT_DIR/checkpoint-$step"
  mv "$tmp" "$CHECKPOINT_DIR/checkpoint-$step"
  echo "saved checkpoint-$step"
}

# shellcheck disable=SC2317 # invoked by the TERM trap
on_term() {
  if [ "${FAKE_IGNORE_TERM:-0}" = 1 ]; then echo "SIGTERM ignored"; return 0; fi
  echo "SIGTERM: emergency checkpoint at step $step"
  save
  exit 143
}
trap on_term TERM

while :; do
  if [ -n "${FAKE_RELEASE_FILE:-}" ]; then [ -e "$FAKE_RELEASE_FILE" ] && break
  elif [ "$step" -ge "${FAKE_STEPS:-3}" ]; then break; fi
  sleep "${FAKE_STEP_SECONDS:-0.05}" &
  wait $! || true
  step=$((step + 1))
  echo "step $step loss=0.$((1000 - step))"
  if [ $((step % ${FAKE_CKPT_EVERY:-1})) -eq 0 ]; then save; fi
done
echo "model after $step steps" >"$OUTPUT_DIR/model.bin"
echo "training finished at step $step"
exit "${FAKE_EXIT:-0}"
