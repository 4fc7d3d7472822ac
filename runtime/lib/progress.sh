# shellcheck shell=bash
# Training progress (runtime/README.md, "Progress contract"), sourced by gti-launcher after common.sh. progress_start,
# just before the container starts: the run's progress directory is mounted at /progress, GTI_PROGRESS_FILE names the
# file the training code appends JSON lines to, and lib/progress.py watches it (and trainer_state.json of the newest
# checkpoint) in the background ($BG: the launcher stops it when the container exits). A watcher that cannot start or
# fails is logged and never stops training.

# progress_watcher PYTHON: the watcher, SIGTERM ignored until it installs its own handler (a TERM in its first
# milliseconds would kill it before its final flush); it also ends by itself once the container's exit code exists.
# -I: no PYTHON* variables, user site or working directory on its path (it runs as root next to the training's
# files); -S: no site-packages (standard library only; a distribution's .pth files cost ~30 ms per start).
progress_watcher() {
  trap '' TERM
  exec "$1" -I -S "$GTI_HOME/lib/progress.py"
}

progress_start() {
  local dir=$WORK/runs/$RUN_ID/progress py=${GTI_PYTHON:-python3} tag
  if ! mkdir -p "$dir" || ! chown "$GTI_CONTAINER_USER" "$dir"; then
    log "WARNING: no progress directory $dir: training progress is not published"
    return 0
  fi
  # an earlier attempt's lines (a restart on this instance) are not this attempt's progress
  [ ! -e "$dir/progress.jsonl" ] || mv -f "$dir/progress.jsonl" "$dir/progress.jsonl.1"
  DOCKER_ARGS+=(-v "$dir:/progress" -e GTI_PROGRESS_FILE=/progress/progress.jsonl)
  if ! command -v "$py" >/dev/null; then
    log "WARNING: no $py on this instance: training progress is not published"
    return 0
  fi
  # Per run: the instance tag StallMinutes (read at each attempt) overrides the env's GTI_STALL_MINUTES
  tag=$(imds_get meta-data/tags/instance/StallMinutes) || tag=
  RUN_ID=$RUN_ID INSTANCE_ID=$(instance_id) GTI_METRICS_NAMESPACE=$GTI_METRICS_NAMESPACE GTI_AWS_CLI=$GTI_AWS_CLI \
    GTI_FLEET_ASG_NAME=$GTI_FLEET_ASG_NAME GTI_STALL_MINUTES=${GTI_STALL_MINUTES:-} GTI_STALL_TAG=$tag \
    GTI_PROGRESS_POLL_SECONDS=${GTI_PROGRESS_POLL_SECONDS:-} GTI_PROGRESS_METRICS_SECONDS=${GTI_PROGRESS_METRICS_SECONDS:-} \
    GTI_PROGRESS_UPLOAD_SECONDS=${GTI_PROGRESS_UPLOAD_SECONDS:-} GTI_PROGRESS_MAX_BYTES=${GTI_PROGRESS_MAX_BYTES:-} \
    GTI_PROGRESS_MAX_READ_BYTES=${GTI_PROGRESS_MAX_READ_BYTES:-} GTI_PROGRESS_MAX_METRICS=${GTI_PROGRESS_MAX_METRICS:-} \
    GTI_PROGRESS_HOST_FILE=$dir/progress.jsonl GTI_PROGRESS_CHECKPOINT_DIR=$CKPT GTI_PROGRESS_JSON=$STATE/progress.json \
    GTI_PROGRESS_EMF_LOG=$METRICS_LOG GTI_PROGRESS_S3_URI=$S3RUN/progress.json GTI_PROGRESS_DEADLINE_FILE=$STATE/deadline \
    GTI_PROGRESS_DONE_FILE=$STATE/container-rc GTI_PROGRESS_STARTED=$EPOCHREALTIME progress_watcher "$py" 2>>"$RUNTIME_LOG" &
  BG+=($!)
}
