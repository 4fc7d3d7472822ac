#!/usr/bin/env bash
# Stands in for the training container (run by the docker stub with the container's environment, paths mapped to the
# host). Honours the environment contract: resumes from RESUME_FROM/step, writes checkpoint-<step>/ under
# CHECKPOINT_DIR (as tmp-checkpoint-<step>/, then renamed), the final model to OUTPUT_DIR, handles SIGTERM with an
# emergency checkpoint, and follows the checkpoint contract (COMPLETE written last, in the tmp- directory). Knobs:
# FAKE_STEPS (3, absolute step to reach), FAKE_STEP_SECONDS (0.05), FAKE_CKPT_EVERY (1), FAKE_RELEASE_FILE (run until
# it exists instead), FAKE_EXIT (0), FAKE_IGNORE_TERM (0), FAKE_SHOW_AWS (1: print the AWS credentials it can
# resolve, the way an SDK would, at every step), FAKE_CRASH_MID_SAVE (1: a trainer without the contract that writes
# checkpoint-1 in place, then a truncated checkpoint-2, and exits FAKE_EXIT, default 1), FAKE_PARTIAL_AT_EXIT (1: at the
# end, starts the next checkpoint in place and exits without finishing it).
set -euo pipefail
step=0
exec {quiet}<> <(:) # a pipe nobody writes to: `read -t` on it sleeps without a process, and a signal interrupts it
nap() { read -r -t "$1" -u "$quiet" _ || true; }
if [ -n "${RESUME_FROM:-}" ]; then
  step=$(<"$RESUME_FROM/step")
  echo "resuming from $RESUME_FROM at step $step"
fi
echo "start step=$step resume=${RESUME_FROM:-}" >>"$OUTPUT_DIR/attempts.log"

if [ "${FAKE_CRASH_MID_SAVE:-0}" = 1 ]; then
  mkdir -p "$CHECKPOINT_DIR/checkpoint-1" "$CHECKPOINT_DIR/checkpoint-2"
  head -c 4096 /dev/urandom >"$CHECKPOINT_DIR/checkpoint-1/optimizer.pt"
  touch -d '-5 seconds' "$CHECKPOINT_DIR/checkpoint-1/optimizer.pt" "$CHECKPOINT_DIR/checkpoint-1"
  head -c 1000 /dev/urandom >"$CHECKPOINT_DIR/checkpoint-2/optimizer.pt" # truncated: the save never finished
  echo "OSError: [Errno 28] No space left on device (while saving checkpoint-2)"
  exit "${FAKE_EXIT:-1}"
fi

show_aws() { # the credentials an SDK would resolve: AWS_CONFIG_FILE's credential_process, the file in the same mount
  local process file dir=${AWS_CONFIG_FILE:-/x}
  case $dir in */*) dir=${dir%/*} dir=${dir:-/} ;; *) dir=. ;; esac # dirname
  process=$(sed -n 's/^credential_process = //p' "${AWS_CONFIG_FILE:-/nonexistent}" 2>/dev/null) || true
  file=${process##* }
  echo "aws: env_key=${AWS_ACCESS_KEY_ID:-none} metadata_disabled=${AWS_EC2_METADATA_DISABLED:-} region=${AWS_REGION:-}" \
    "process=${process:-none} credentials=$({ cat "$dir/${file##*/}"; } 2>/dev/null || echo none)"
}
echo "data files: $(find "$DATA_DIR" -type f | wc -l)"

save() {
  local tmp=$CHECKPOINT_DIR/tmp-checkpoint-$step
  [ -d "$tmp" ] || mkdir -p "$tmp"
  echo "$step" >"$tmp/step"
  head -c 4096 /dev/urandom >"$tmp/weights.bin"
  : >"$tmp/COMPLETE" # touch (an empty file)
  [ ! -e "$CHECKPOINT_DIR/checkpoint-$step" ] || rm -rf "$CHECKPOINT_DIR/checkpoint-$step"
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
  nap "${FAKE_STEP_SECONDS:-0.05}"
  step=$((step + 1))
  echo "step $step loss=0.$((1000 - step))"
  if [ "${FAKE_SHOW_AWS:-0}" = 1 ]; then show_aws; fi
  if [ $((step % ${FAKE_CKPT_EVERY:-1})) -eq 0 ]; then save; fi
done
if [ "${FAKE_PARTIAL_AT_EXIT:-0}" = 1 ]; then # dies while writing the next checkpoint, in place (COMPLETE never written)
  mkdir -p "$CHECKPOINT_DIR/checkpoint-$((step + 1))" && head -c 100 /dev/urandom >"$CHECKPOINT_DIR/checkpoint-$((step + 1))/optimizer.pt"
fi
echo "model after $step steps" >"$OUTPUT_DIR/model.bin"
echo "training finished at step $step"
exit "${FAKE_EXIT:-0}"
