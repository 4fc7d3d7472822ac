#!/usr/bin/env bash
# Entrypoint of the GPU training image built from Dockerfile.gpu (gpu-training-infra template).
#
# It checks the runtime's environment contract, prints one summary line, runs the training command (the image's
# CMD, by default `python train.py`) as its child, forwards SIGTERM (and SIGINT, as SIGTERM) to it and exits with
# the command's exit status.
#
# Environment contract (the instance runtime sets these; see the header of Dockerfile.gpu):
#   DATA_DIR        required  absolute path of an existing, readable directory of training inputs (read-only is fine)
#   CHECKPOINT_DIR  required  absolute path of a writable directory; write checkpoints as sub-directories of it,
#                             e.g. checkpoint-<step>/
#   OUTPUT_DIR      required  absolute path of a writable directory for the final artifacts
#   RUN_ID          required  the run's id ([A-Za-z0-9._-]); the outputs bucket keeps the run under runs/<run-id>/
#   RESUME_FROM     optional  empty on a fresh run, otherwise an existing path (usually a checkpoint-<step>/
#                             directory) that the trainer restores from; passed through unchanged
#   HF_TOKEN        optional  Hugging Face token, passed through to the trainer; never printed
#   Multi-node (torchrun): NNODES, MIN_NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT, NPROC_PER_NODE, RDZV_JOIN_TIMEOUT.
#   With NNODES > 1 the entrypoint requires NODE_RANK, MASTER_ADDR and MASTER_PORT and the command should be a
#   torchrun command with the c10d rendezvous on MASTER_ADDR:MASTER_PORT (see Dockerfile.gpu). NNODES unset or 1
#   means a single node.
#
# Signals: on a spot interruption the runtime stops the container, which sends SIGTERM to this script (PID 1).
# It is forwarded to the training process, which must save a checkpoint under CHECKPOINT_DIR within ~30 s and exit.
# The script keeps waiting until the training process has exited and then exits with its status. Docker kills the
# container 10 s after SIGTERM by default: the runtime must stop it with a longer grace period (e.g. `docker run
# --stop-timeout 90` or `docker stop --time 90`; a spot instance gets about 2 minutes of notice).
#
# Exit status: the training command's, or 78 (EX_CONFIG) when the contract is not met (the command is not run).
set -euo pipefail

readonly EX_CONFIG=78

log() { printf '[entrypoint] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit "$EX_CONFIG"
}

# Stop signals. On a spot interruption the runtime stops the container: SIGTERM to this script (PID 1). The training
# process gets SIGTERM in turn (once; a signal arriving before it exists is remembered). Without job control bash
# starts background commands with SIGINT ignored, so an interactive Ctrl-C (SIGINT) is passed on as SIGTERM too.
child=""
stop_requested=""
stop_forwarded=""
# shellcheck disable=SC2317  # invoked by the traps below, which ShellCheck 0.9 does not follow
forward_stop() {
  stop_requested=1
  if [[ -n "$child" && -z "$stop_forwarded" ]] && kill -0 "$child" 2>/dev/null; then
    stop_forwarded=1
    log "received a stop signal: sending SIGTERM to the training process (pid $child) so that it can save a checkpoint"
    kill -s TERM "$child" 2>/dev/null || true
  fi
}
trap forward_stop TERM INT

require_var() {
  [[ -n "${!1:-}" ]] || die "$1 is not set: the runtime must set it (environment contract in Dockerfile.gpu)"
}

require_absolute() {
  [[ "${!1}" == /* ]] || die "$1 must be an absolute path, got '${!1}'"
}

require_readable_dir() {
  require_var "$1"
  require_absolute "$1"
  local dir="${!1}"
  [[ -d "$dir" ]] || die "$1=$dir does not exist or is not a directory"
  [[ -r "$dir" && -x "$dir" ]] || die "$1=$dir is not readable by uid $(id -u)"
}

require_writable_dir() {
  require_readable_dir "$1"
  local dir="${!1}"
  [[ -w "$dir" ]] || die "$1=$dir is not writable by uid $(id -u) (make it writable for this uid, e.g. chown it)"
}

require_int_in_range() { # name value min max
  if ! [[ "$2" =~ ^(0|[1-9][0-9]{0,8})$ ]] || (($2 < $3 || $2 > $4)); then
    die "$1 must be an integer in [$3, $4], got '$2'"
  fi
}

(($# > 0)) || die "no training command: CMD is empty"

require_readable_dir DATA_DIR
require_writable_dir CHECKPOINT_DIR
require_writable_dir OUTPUT_DIR
require_var RUN_ID
if [[ ! "$RUN_ID" =~ ^[A-Za-z0-9._-]+$ || "$RUN_ID" == "." || "$RUN_ID" == ".." ]]; then
  die "RUN_ID may only contain letters, digits, '.', '_' and '-' (and is not . or ..), got '$RUN_ID'"
fi

export RESUME_FROM="${RESUME_FROM:-}"
if [[ -n "$RESUME_FROM" ]]; then
  require_absolute RESUME_FROM
  [[ -e "$RESUME_FROM" ]] || die "RESUME_FROM=$RESUME_FROM does not exist (leave it empty for a fresh run)"
  [[ -r "$RESUME_FROM" ]] || die "RESUME_FROM=$RESUME_FROM is not readable by uid $(id -u)"
  resume_display="$RESUME_FROM"
else
  resume_display="<none: fresh run>"
fi

nnodes="${NNODES:-1}"
[[ "$nnodes" =~ ^[1-9][0-9]*$ ]] || die "NNODES must be a positive integer, got '$nnodes'"
nodes_display="nnodes=$nnodes"
if ((nnodes > 1)); then
  require_var NODE_RANK
  require_var MASTER_ADDR
  require_var MASTER_PORT
  require_int_in_range NODE_RANK "$NODE_RANK" 0 $((nnodes - 1))
  require_int_in_range MASTER_PORT "$MASTER_PORT" 1 65535
  nodes_display+=" node_rank=$NODE_RANK master=$MASTER_ADDR:$MASTER_PORT nproc_per_node=${NPROC_PER_NODE:-<unset>}"
  if [[ " $* " != *torchrun* && " $* " != *torch.distributed.run* ]]; then
    log "WARNING: NNODES=$nnodes but the command does not run torchrun: the nodes will not form one job."
  fi
fi

# The command as it will run, each argument shell-quoted, with the Hugging Face token masked wherever it appears.
hf_token_display="unset"
[[ -z "${HF_TOKEN:-}" ]] || hf_token_display="set"
redacted='<redacted>'
display_args=()
for arg in "$@"; do
  [[ -z "${HF_TOKEN:-}" ]] || arg="${arg//"$HF_TOKEN"/"$redacted"}"
  display_args+=("$arg")
done
printf -v command_display '%q ' "${display_args[@]}"
command_display="${command_display% }"

printf '[entrypoint] run_id=%s data_dir=%s checkpoint_dir=%s output_dir=%s resume_from=%s hf_token=%s %s uid=%s command: %s\n' \
  "$RUN_ID" "$DATA_DIR" "$CHECKPOINT_DIR" "$OUTPUT_DIR" "$resume_display" "$hf_token_display" "$nodes_display" \
  "$(id -u)" "$command_display"

if [[ -n "$stop_requested" ]]; then
  log "stopped before the training command started"
  exit 143
fi
"$@" &
child=$!
if [[ -n "$stop_requested" ]]; then forward_stop; fi # a stop signal that came just before the child existed

# `wait` returns early when a trapped signal arrives: keep waiting until the training process has really exited.
while kill -0 "$child" 2>/dev/null; do
  wait "$child" || true
done
set +e
wait "$child"
status=$?
set -e
log "training command exited with status $status"
exit "$status"
