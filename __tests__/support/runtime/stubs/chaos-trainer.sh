#!/usr/bin/env bash
# The chaos soak's training container (run by the docker stub like fake-trainer.sh, paths mapped to the host). Every
# checkpoint has a known size, so the soak can tell a complete one from a partial one wherever it is (disk or S3); what
# it did is logged to $HOME/trainer.log (the soak's ground truth: "<epoch s.us> <event> <fields>").
# Knobs (FAKE_*):
#   SAVE          complete (checkpoint-N/ in place, COMPLETE written last) | tmpcomplete (tmp-checkpoint-N/ with
#                 COMPLETE, renamed) | atomic-dir (tmp-checkpoint-N/ renamed; .atomic-rename declared) | atomic-file
#                 (tmp-ckpt-N.bin renamed to ckpt-N.bin; declared) | inplace (checkpoint-N/ in place, no contract)
#   CKPT_EVERY    a checkpoint every N steps (0: never)        STEP_SECONDS  time per step
#   CHUNKS, CHUNK_BYTES, CHUNK_SECONDS  the weights: CHUNKS blocks of CHUNK_BYTES, CHUNK_SECONDS apart (huge: many)
#   KEEP          local checkpoints kept (older ones deleted after each save, like save_total_limit; default 3)
#   MORE          steps to train in this attempt, then exit EXIT ("": until stopped)
#   MID_SAVE      1: at the end, die halfway through the next checkpoint (exit EXIT)
#   ON_TERM       save (emergency checkpoint, exit 143) | exit (143 at once) | ignore (SIGKILL after the grace: 137)
# Log events: start STEP RESUME-NAME|- ok|corrupt|none; step N; save NAME N; saved NAME N; term; exit CODE; output N.
set -uo pipefail
LOG=$HOME/trainer.log
kind=${FAKE_SAVE:-complete} every=${FAKE_CKPT_EVERY:-1} chunks=${FAKE_CHUNKS:-1} bytes=${FAKE_CHUNK_BYTES:-512}
pause=${FAKE_CHUNK_SECONDS:-0} termed="" saving="" saved=-1 step=0 verdict=none resume=-
printf -v block '%*s' "$bytes" ''
say() { echo "$EPOCHREALTIME $*" >>"$LOG"; }
exec {quiet}<> <(:) # a pipe nobody writes to: `read -t` on it sleeps without a process, and a signal interrupts it
nap() { read -r -t "$1" -u "$quiet" _ || true; }

if [ -n "${RESUME_FROM:-}" ]; then # check what the runtime restored: the step and the full size
  resume=${RESUME_FROM##*/} verdict=corrupt
  if [ -f "$RESUME_FROM" ]; then
    read -r _ step size <"$RESUME_FROM" && [ "$(stat -c %s "$RESUME_FROM")" = "$size" ] && verdict=ok
  elif read -r step size <"$RESUME_FROM/step" && [ "$(stat -c %s "$RESUME_FROM/weights.bin" 2>/dev/null)" = "$size" ]; then
    verdict=ok
  fi
  [[ $step =~ ^[0-9]+$ ]] || step=0
  saved=$step
fi
say start "$step" "$resume" "$verdict"
case $kind in atomic-*) touch "$CHECKPOINT_DIR/.atomic-rename" ;; esac

# weights FILE N: append the weights, a chunk at a time; stops early (partial) when told to exit at once
weights() {
  local i
  for ((i = 0; i < $2; i++)); do
    printf '%s' "$block" >>"$1"
    [ -z "$termed" ] || [ "${FAKE_ON_TERM:-save}" != exit ] || return 1
    [ "$pause" = 0 ] || nap "$pause"
  done
}

# save [PARTIAL]: checkpoint of the current step; PARTIAL: only half of it, then return 1
save() {
  local n=${1:-$chunks} name=checkpoint-$step tmp size=$((chunks * bytes))
  [ "$kind" != atomic-file ] || name=ckpt-$step.bin size=$((size + 27)) # a 27-byte header: "step %10d %10d\n"
  saving=1 tmp=$CHECKPOINT_DIR/tmp-$name
  say save "$name" "$step"
  case $kind in
    atomic-file) printf 'step %10d %10d\n' "$step" "$size" >"$tmp" && weights "$tmp" "$n" || return 1 ;;
    *)
      [ "$kind" != complete ] && [ "$kind" != inplace ] || tmp=$CHECKPOINT_DIR/$name
      { [ ! -e "$tmp" ] || rm -rf "$tmp"; } && mkdir "$tmp" && echo "$step $size" >"$tmp/step" && weights "$tmp/weights.bin" "$n" || return 1 ;;
  esac
  [ "$n" = "$chunks" ] || return 1
  if [ "$kind" = complete ] || [ "$kind" = tmpcomplete ]; then : >"$tmp/COMPLETE"; fi
  [ "$tmp" = "$CHECKPOINT_DIR/$name" ] || { { [ ! -e "$CHECKPOINT_DIR/$name" ] || rm -rf "${CHECKPOINT_DIR:?}/$name"; } && mv "$tmp" "$CHECKPOINT_DIR/$name"; }
  saving="" saved=$step
  say saved "$name" "$step"
  prune
}

prune() { # keep the newest KEEP checkpoints (a sparse array lists its indexes in order: the steps)
  local f n by=() old=()
  for f in "$CHECKPOINT_DIR"/checkpoint-* "$CHECKPOINT_DIR"/ckpt-*.bin; do
    n=${f##*-} n=${n%.bin}
    [[ $n =~ ^[0-9]+$ ]] && by[n]=$f
  done
  for n in "${!by[@]}"; do old+=("${by[n]}"); done
  [ ${#old[@]} -le "${FAKE_KEEP:-3}" ] || rm -rf "${old[@]:0:${#old[@]}-${FAKE_KEEP:-3}}"
}

finish() { say exit "$1"; exit "$1"; }
# shellcheck disable=SC2317 # invoked by the TERM trap
on_term() {
  [ -z "$termed" ] || return 0
  termed=1
  say term
}
trap on_term TERM
# after a SIGTERM (checked between steps and chunks): the emergency checkpoint, or exit at once
check_term() {
  [ -n "$termed" ] || return 0
  case ${FAKE_ON_TERM:-save} in
    exit) finish 143 ;;
    save) [ -n "$saving" ] || [ "$saved" = "$step" ] || [ "$every" = 0 ] || save || true; finish 143 ;;
  esac
}

end=$((${FAKE_MORE:-1000000000} + step))
while [ "$step" -lt "$end" ]; do
  nap "${FAKE_STEP_SECONDS:-0.05}"
  check_term
  step=$((step + 1))
  say step "$step"
  if [ "$every" != 0 ] && [ $((step % every)) -eq 0 ]; then save || check_term; check_term; fi
done
if [ "${FAKE_MID_SAVE:-0}" = 1 ] && [ "$every" != 0 ]; then step=$((step + 1)) && say step "$step" && save $((chunks / 2)); finish "${FAKE_EXIT:-1}"; fi
echo "model after $step steps" >"$OUTPUT_DIR/model.bin"
say output "$step"
finish "${FAKE_EXIT:-0}"
