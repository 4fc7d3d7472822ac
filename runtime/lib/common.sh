# shellcheck shell=bash disable=SC2034
# Sourced by bin/*. Paths start with $R (GTI_ROOT, empty in production). See the README section "runtime".
export LC_ALL=C
R=${GTI_ROOT:-}
GTI_HOME=${BASH_SOURCE[0]%/lib/*}
STATE=$R/run/gpu-training     # per boot: flags, locks, token
VARLIB=$R/var/lib/gpu-training # the run id, across reboots
SETUP_LOG=$R/var/log/training-setup.log
TRAIN_LOG=$R/var/log/training.log
RUNTIME_LOG=$R/var/log/training-runtime.log
METRICS_LOG=$R/var/log/training-metrics.log # progress metrics (EMF) the CloudWatch agent ships: lib/progress.py
CONTAINER=gti-training
SLICE=gti-training.slice # the container's cgroup parent: the metadata service is blocked for it
LOG_FILE=${LOG_FILE:-$RUNTIME_LOG}
COMPONENT=${COMPONENT:-${0##*/}}
MARKERS="SUCCESS FAILURE INTERRUPTED"

# ts [FORMAT]: the UTC time (ISO 8601 by default); tsv VAR [FORMAT]: the same into VAR, without a subshell
tsv() { TZ=UTC printf -v "$1" "%(${2:-%FT%TZ})T" -1; }
ts() {
  local t
  tsv t "${1:-}"
  printf '%s' "$t"
}
log() {
  local t
  tsv t
  set -- "$t ${COMPONENT}[$$]: $*"
  echo "$1" >&2
  echo "$1" >>"$LOG_FILE" || true
}
die() { log "ERROR: $*"; exit 1; }
quiet() { "$@" >>"$LOG_FILE" 2>&1; }
# rd NAME: the state file's contents (as `cat`, less trailing newlines), fails when it cannot be read. The hot helpers
# below read without a process: $(<file) and read are bash's own.
rd() {
  local v
  rdv v "$1" || return 1
  [ -z "$v" ] || printf '%s\n' "$v"
}
# rdv VAR NAME: rd into VAR, without a subshell
rdv() {
  local _rdv
  [ -f "$STATE/$2" ] && { _rdv=$(<"$STATE/$2"); } 2>/dev/null || return 1
  printf -v "$1" '%s' "$_rdv"
}

load_config() {
  local f=${GTI_CONFIG_FILE:-$R/etc/gpu-training/runtime.env}
  [ -r "$f" ] || die "config file $f is missing"
  # shellcheck disable=SC1090
  . "$f"
  : "${GTI_MODE:=single}" "${GTI_DATA_PREFIX:=data/}" "${GTI_IMAGE_TAG:=latest}" "${GTI_RUN_ID:=}" \
    "${GTI_AUTO_SHUTDOWN:=true}" "${GTI_CHECKPOINT_INTERVAL_MINUTES:=15}" "${GTI_SPOT_GRACE_SECONDS:=30}" \
    "${GTI_HF_TOKEN_SECRET_ARN:=}" "${GTI_DATA_BUCKET:=}" "${GTI_ENVIRONMENT:=default}" "${GTI_ECR_REPOSITORY_URL:=}" \
    "${GTI_LOG_GROUP:=/gpu-training/$GTI_ENVIRONMENT}" "${GTI_METRICS_NAMESPACE:=GpuTraining/$GTI_ENVIRONMENT}" \
    "${GTI_NVME_MOUNT:=/opt/dlami/nvme}" "${GTI_CONTAINER_USER:=1000:1000}" "${GTI_CHECKPOINT_SETTLE_SECONDS:=60}" \
    "${GTI_CHECKPOINT_INTERVAL_SECONDS:=$((GTI_CHECKPOINT_INTERVAL_MINUTES * 60))}" "${GTI_SPOT_POLL_SECONDS:=5}" \
    "${GTI_IMDS_ENDPOINT:=http://169.254.169.254}" "${GTI_IMDS_TOKEN_TTL:=21600}" "${GTI_IMDS_TIMEOUT:=2}" \
    "${GTI_IMDS_RETRIES:=3}" "${GTI_AWS_CLI:=aws}" "${GTI_S3_RETRIES:=5}" "${GTI_S3_BACKOFF_SECONDS:=2}" \
    "${GTI_NVME_WAIT_SECONDS:=15}" "${GTI_STOP_WAIT_SECONDS:=150}" "${GTI_MARKER_LOG_LINES:=20}" \
    "${GTI_FLEET_ASG_NAME:=}" "${GTI_FLEET_LIFECYCLE_HOOK:=}" "${GTI_FLEET_MASTER_PORT:=29500}" \
    "${GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS:=600}" "${GTI_FLEET_POLL_SECONDS:=10}" "${GTI_FLEET_REJOINS:=5}" \
    "${GTI_FLEET_DRAIN_SECONDS:=120}" "${GTI_DEADLINE_MARGIN_SECONDS:=5}" "${GTI_MARKER_RESERVE_SECONDS:=10}" \
    "${GTI_FINAL_SYNC_SECONDS:=60}" "${GTI_CONTAINER_ROLE_ARN:=}" "${GTI_CREDENTIALS_REFRESH_SECONDS:=900}" \
    "${GTI_CREDENTIALS_DURATION_SECONDS:=3600}"
  [ -n "${GTI_OUTPUTS_BUCKET:-}" ] || die "GTI_OUTPUTS_BUCKET is not set in $f"
  IMDS=$GTI_IMDS_ENDPOINT AWS=awsx GRACE=$GTI_SPOT_GRACE_SECONDS GTI_DATA_PREFIX=${GTI_DATA_PREFIX%/}/
  NVME=$R$GTI_NVME_MOUNT
  WORK=$NVME/training
  DATA=$WORK/data
  IMAGE=$GTI_ECR_REPOSITORY_URL:$GTI_IMAGE_TAG
  [ -n "${AWS_REGION:-}" ] || AWS_REGION=$(meta placement/region) || true
  export AWS_REGION AWS_DEFAULT_REGION=$AWS_REGION
}

init() { # every script's start: the directories once per boot (a test, not a mkdir process, after that)
  LOG_FILE=$1
  [ -d "$STATE" ] && [ -d "$VARLIB" ] && [ -d "${LOG_FILE%/*}" ] || mkdir -p "$STATE" "$VARLIB" "${LOG_FILE%/*}" || return 1
  load_config
}
settings() { local v; for v in "${!GTI_@}" IMAGE; do echo "$v=${!v}"; done; }

# imds_token: the IMDSv2 token into IMDS_TOKEN (empty when it cannot be had), cached in a file as "<fetched at> <token>"
# for every script of this boot, renewed at half its TTL. No subshell or process unless it fetches.
imds_token() {
  local f=$STATE/imds-token at="" t=""
  { read -r at t <"$f"; } 2>/dev/null || true
  if [[ $at =~ ^[0-9]+$ ]] && [ -n "$t" ] && [ $((EPOCHSECONDS - at)) -lt $((GTI_IMDS_TOKEN_TTL / 2)) ]; then
    IMDS_TOKEN=$t
    return 0
  fi
  IMDS_TOKEN=
  t=$(curl -fsS -X PUT -H "X-aws-ec2-metadata-token-ttl-seconds: $GTI_IMDS_TOKEN_TTL" -m "$GTI_IMDS_TIMEOUT" \
    "$IMDS/latest/api/token") || return 1
  (umask 077 && printf '%s %s\n' "$EPOCHSECONDS" "$t" >"$f.$BASHPID" && mv -f "$f.$BASHPID" "$f")
  IMDS_TOKEN=$t
}

imds_get() { # status 0 (200), 4 (404: nothing there) or 1
  local i out
  for ((i = 1; i <= GTI_IMDS_RETRIES; i++)); do
    imds_token || true # without a token the request still goes out, and its 401 is retried as before
    if out=$(curl -sS -w '\n%{http_code}' -m "$GTI_IMDS_TIMEOUT" \
      -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS/latest/$1" 2>/dev/null); then
      case ${out##*$'\n'} in
        200) printf '%s' "${out%$'\n'*}"; return 0 ;;
        404) return 4 ;;
        401) rm -f "$STATE/imds-token" ;;
      esac
    fi
    [ "$i" -lt "$GTI_IMDS_RETRIES" ] && sleep 0.2
  done
  return 1
}

meta() { # cached per boot
  local f=meta-${1//\//_} v
  rd "$f" && return 0
  v=$(imds_get "meta-data/$1") || return 1
  printf '%s' "$v" >"$STATE/$f"
  printf '%s' "$v"
}
instance_id() { meta instance-id || echo unknown; }
# metav VAR PATH: meta into VAR (no subshell once this boot has it); instance_idv VAR: instance_id into VAR
metav() {
  rdv "$1" "meta-${2//\//_}" && return 0
  local _metav
  _metav=$(meta "$2") || return 1
  printf -v "$1" '%s' "$_metav"
}
instance_idv() { metav "$1" instance-id || printf -v "$1" '%s' unknown; }

resolve_run() { # config > cached > RunId tag > generated (never the instance id)
  [ -n "${RUN_ID:-}" ] && return 0
  local f=$VARLIB/run-id
  if [ -n "$GTI_RUN_ID" ]; then RUN_ID=$GTI_RUN_ID RUN_SRC=config
  elif [ -s "$f" ]; then read -r RUN_ID RUN_SRC <"$f"
  elif RUN_ID=$(imds_get meta-data/tags/instance/RunId) && [ -n "$RUN_ID" ]; then RUN_SRC=tag
  elif [ "$GTI_MODE" = fleet-independent ] && adopt; then RUN_SRC=adopted
  else
    RUN_ID=${GTI_FLEET_ASG_NAME:-run}-$(ts %Y%m%d-%H%M%S)-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n') RUN_SRC=generated
    log "no GTI_RUN_ID or RunId tag: generated $RUN_ID"
  fi
  [[ $RUN_ID =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] || die "invalid run id '$RUN_ID'"
  echo "$RUN_ID $RUN_SRC" >"$f"
  S3RUN=s3://$GTI_OUTPUTS_BUCKET/runs/$RUN_ID
  CKPT=$WORK/runs/$RUN_ID/checkpoints
  OUT=$WORK/runs/$RUN_ID/outputs
}

# time_left: LEFT = seconds a transfer may still take: until $UNTIL, else the deadline less the marker's reserve (none:
# fails). A variable, not printed: awsx runs it before every AWS call
time_left() {
  local u=${UNTIL:-}
  [ -n "$u" ] || { rdv u deadline && u=$((u - GTI_MARKER_RESERVE_SECONDS)); } || return 1
  LEFT=$((u - EPOCHSECONDS))
}
# awsx: the AWS CLI, killed (its process group) when the time left runs out; not even started without time left
awsx() {
  local t
  time_left || { "$GTI_AWS_CLI" "$@"; return $?; } # $?: a bare return in a trap returns the status before it
  t=$LEFT
  [ "$t" -gt 0 ] || { log "no time left for aws $1 $2"; return 124; }
  timeout -k 1 "$t" "$GTI_AWS_CLI" "$@"
}
# stop_deadline: a stop's deadline (the grace, the final sync budget, the marker's reserve); an earlier one stays
stop_deadline() {
  local d=$((EPOCHSECONDS + $(stop_budget))) o
  rdv o deadline && [ "$o" -gt "$EPOCHSECONDS" ] && [ "$o" -le "$d" ] || echo "$d" >"$STATE/deadline"
}
stop_budget() { echo $((GRACE + (GTI_FINAL_SYNC_SECONDS > GRACE ? GTI_FINAL_SYNC_SECONDS : GRACE) + GTI_MARKER_RESERVE_SECONDS)); }

# retry WHAT CMD...: doubling backoff, never past the deadline; outcomes go to $REPORT (the marker's list)
retry() {
  local what=$1 n=0 max=${RETRIES:-$GTI_S3_RETRIES} delay=$GTI_S3_BACKOFF_SECONDS
  shift
  while :; do
    n=$((n + 1))
    if "$@"; then echo "$what $n ok" >>"${REPORT:-$STATE/sync-report}"; return 0; fi
    if [ "$n" -ge "$max" ] || { time_left && [ "$LEFT" -le $((${delay%.*} + 1)) ]; }; then
      echo "$what $n failed" >>"${REPORT:-$STATE/sync-report}"
      log "$what failed after $n attempt(s)"
      return 1
    fi
    log "$what failed (attempt $n), retrying in ${delay}s"
    sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { print d * 2 }')
  done
}
s3x() { local w=$1; shift; retry "$w" s3ok "$@"; }
s3ok() { quiet "$AWS" s3 "$@" --only-show-errors || [ $? = 2 ]; } # 2: files vanished while syncing

s3_keys() { # PREFIX [QUERY]: the keys (or the QUERY's values) one level under PREFIX
  local out
  out=$(REPORT=/dev/null RETRIES=${RETRIES:-3} retry list quiet2 "$AWS" s3api list-objects-v2 --bucket "$GTI_OUTPUTS_BUCKET" \
    --prefix "$1" --delimiter / --query "${2:-Contents[].Key}" --output text) || return 1
  echo "${out//$'\t'/$'\n'}"
}
quiet2() { "$@" 2>>"$LOG_FILE"; }

current_marker() {
  local keys m
  keys=$(s3_keys "runs/$RUN_ID/") || return 1
  for m in $MARKERS; do grep -qx "runs/$RUN_ID/$m" <<<"$keys" && { echo "$m"; return 0; }; done
  return 0
}

# ckpt_index: "<newest mtime> <complete> <fingerprint> <name>" per checkpoint; tmp* and .* are in progress. complete:
# 1 with a COMPLETE file in it, or for every entry once the trainer declared atomic renames (.atomic-rename). The
# fingerprint ends with the checkpoint's type (d: a directory, f: a file; symlinks followed), as indexed: promote
# names it in LATEST.json even when the trainer has rotated the checkpoint away since (soak seed 2656632927).
ckpt_index() {
  local r=
  [ ! -e "$CKPT/.atomic-rename" ] || r=1
  find "$CKPT" -mindepth 1 -printf '%T@ %s %Y %P\n' | awk -v r="$r" '
    { p = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", p); n = p; sub(/\/.*/, "", n) }
    n !~ /^(tmp|\.)/ { c[n]++; s[n] += $2; t[n] += $1; if ($1 > m[n]) m[n] = $1; if (p == n "/COMPLETE" || r) k[n] = 1
      if (p == n) y[n] = $3 }
    END { for (n in c) printf "%.6f %d %d:%d:%.6f:%s %s\n", m[n], k[n], c[n], s[n], t[n], y[n], n }' | sort
}

# pick START SETTLE SUSPECT COMPLETE-KNOWN: the newest promotable line of a ckpt_index on stdin: complete by the
# contract once one checkpoint carries it, else settled (newest file older than START - SETTLE) and not SUSPECT
pick() {
  awk -v c=$(($1 - $2)) -v s="$2" -v x="$3" -v k="$4" '{ n = $0; sub(/^[^ ]+ [^ ]+ [^ ]+ /, "", n) }
    k ? $2 == 1 : (s == 0 || $1 < c) && n != x' | sort -n | tail -n 1
}

# promote LINE: LATEST.json to the checkpoint of a ckpt_index line (uploaded, unchanged), only forward
promote() {
  local newest=$1 name cur type=file s3 j_run j_name j_id v at
  name=${newest#* * * }
  rdv cur latest || cur=0
  # Multi-node: every node syncs (torchrun's global rank 0, which saves, may be any node): S3's LATEST.json counts too
  if awk -v n="${newest%% *}" -v c="$cur" 'BEGIN { exit !(n <= c + 0) }' || { [ "$GTI_MODE" = fleet-multinode ] &&
    s3=$(quiet2 "$AWS" s3 cp "$S3RUN/checkpoints/LATEST.json" -) &&
    awk -F'"mtime":' -v m="${newest%% *}" 'NF > 1 && $2 + 0 > m + 0 { f = 1 } END { exit !f }' <<<"$s3"; }; then
    [ "${cur#* * * }" = "$name" ] || log "checkpoint $name is in S3; LATEST.json keeps a newer one"
    return 0
  fi
  v=${newest#* * } # the type the index saw (the trainer may have rotated the checkpoint away since)
  case ${v%% *} in *:d) type=dir ;; esac
  jsv j_run "$RUN_ID" && jsv j_name "$name" && instance_idv v && jsv j_id "$v" # no subshell per field
  tsv at
  printf '{"run_id":%s,"checkpoint":%s,"type":"%s","mtime":%s,"synced_at":"%s","instance_id":%s}\n' "$j_run" "$j_name" \
    "$type" "${newest%% *}" "$at" "$j_id" >"$STATE/LATEST.json"
  s3x LATEST.json cp "$STATE/LATEST.json" "$S3RUN/checkpoints/" || return 1
  echo "$newest" >"$STATE/latest"
  log "checkpoint $name is complete and in S3"
}

# sync_checkpoints [SETTLE] [SUSPECT]: upload; LATEST.json only moves forward, to a checkpoint unchanged during its
# upload and complete: by the contract, else settled and not SUSPECT (runtime/README.md: checkpoint contract). Under a
# deadline (a stop, a notice) the checkpoint to promote goes first and is named at once, the older ones after it: the
# time left is spent on the one a resume needs.
sync_checkpoints() {
  local settle=${1:-$GTI_CHECKPOINT_SETTLE_SECONDS} x=${2:-} start before k first name
  [ -d "$CKPT" ] || return 0
  start=$EPOCHSECONDS
  before=$(ckpt_index)
  k=$(awk '$2 == 1 { print 1; exit }' <<<"$before")
  if [ -s "$STATE/deadline" ] && first=$(pick "$start" "$settle" "$x" "$k" <<<"$before") && [ -n "$first" ] &&
    ! awk -v n="${first%% *}" -v c="$(rd latest || echo 0)" 'BEGIN { exit !(n <= c + 0) }'; then
    name=${first#* * * }
    if [ -d "$CKPT/$name" ]; then s3x checkpoints sync "$CKPT/$name" "$S3RUN/checkpoints/$name/" || return 1
    else s3x checkpoints cp "$CKPT/$name" "$S3RUN/checkpoints/$name" || return 1; fi
    if grep -qxF "$first" <(ckpt_index); then promote "$first" || return 1; fi
  fi
  s3x checkpoints sync "$CKPT" "$S3RUN/checkpoints/" --exclude 'tmp*' --exclude '.*' --exclude LATEST.json || return 1
  first=$(comm -12 <(echo "$before") <(ckpt_index) | pick "$start" "$settle" "$x" "$k")
  [ -z "$first" ] || promote "$first"
}

# early_sync: a periodic or rebalance sync as its own process group (a drain kills all of it, aws included); one at a
# time; none once the attempt ends, checked again under the lock: the finalize records its decision (ending) before it
# takes the lock, so a sync that checked before then but got the lock after the finalize's sync would run after the marker
early_sync() {
  [ ! -e "$STATE/interrupted" ] || return 0
  set -m
  (flock -n 7 || exit 0; [ ! -e "$STATE/interrupted" ] && [ ! -s "$STATE/ending" ] || exit 0
    echo "$BASHPID" >"$STATE/sync.pgid"; r=0; REPORT=$STATE/periodic-report sync_checkpoints || r=$?
    rm -f "$STATE/sync.pgid"; exit "$r") 7>"$STATE/sync.lock" &
  set +m
  wait $!
}
stop_syncs() {
  local g
  rdv g sync.pgid && kill -KILL -- "-$g" 2>/dev/null && log "in-flight checkpoint sync $g stopped"
  rm -f "$STATE/sync.pgid"
}

# set_aside [NAME]: what an earlier attempt left in CHECKPOINT_DIR (all but NAME) never becomes LATEST.json (it would
# move back once training passes it): moved to .old/, one generation kept
set_aside() {
  local e
  rm -rf "$CKPT/.old"
  for e in "$CKPT"/*; do [ ! -e "$e" ] || [ "${e##*/}" = "${1:-}" ] || { mkdir -p "$CKPT/.old" && mv "$e" "$CKPT/.old/"; }; done
}

restore_checkpoint() {
  local json name
  RESUME_FROM=
  : >"$STATE/resumed-from"
  s3x restore-outputs sync "$S3RUN/outputs/" "$OUT/" || return 1
  json=$(RETRIES=$GTI_S3_RETRIES s3_keys "runs/$RUN_ID/checkpoints/") || return 1 # as every other S3 step of the restore
  grep -qx "runs/$RUN_ID/checkpoints/LATEST.json" <<<"$json" || { set_aside; log "no complete checkpoint: fresh start"; return 0; }
  json=$(retry resume-pointer quiet2 "$AWS" s3 cp "$S3RUN/checkpoints/LATEST.json" -) || return 1
  name=$(sed -n 's/.*"checkpoint":"\([^"]*\)".*/\1/p' <<<"$json")
  [ -n "$name" ] || { log "unreadable LATEST.json: $json"; return 1; }
  set_aside "$name"
  echo "$(sed -n 's/.*"mtime":\([0-9.]*\).*/\1/p' <<<"$json") 1 - $name" >"$STATE/latest"
  log "resuming from checkpoint $name"
  if [[ $json == *'"type":"dir"'* ]]; then
    s3x resume sync "$S3RUN/checkpoints/$name/" "$CKPT/$name/" || return 1
  else s3x resume cp "$S3RUN/checkpoints/$name" "$CKPT/$name" || return 1; fi
  RESUME_FROM=/checkpoints/$name
  echo "$RESUME_FROM" >"$STATE/resumed-from"
}

upload_logs() {
  local f
  for f in "$SETUP_LOG" "$TRAIN_LOG" "$RUNTIME_LOG"; do
    [ ! -f "$f" ] || quiet "$AWS" s3 cp "$f" "$S3RUN/logs/$(instance_id)/${f##*/}" --only-show-errors || return 1
  done
}

# jsv VAR STRING: STRING as a JSON string into VAR, without a subshell (the marker quotes every log line it carries)
jsv() {
  local -n _jsv_out=$1
  local _jsv=${2//\\/\\\\}
  _jsv=${_jsv//\"/\\\"}
  _jsv=${_jsv//$'\t'/\\t}
  _jsv=${_jsv//$'\n'/\\n}
  _jsv_out=\"${_jsv//[[:cntrl:]]/}\"
}

# pending FAILED: what failed uploads leave on this disk only (the marker tells the next instance what is lost)
pending() {
  local w
  for w in ${1//,/ }; do
    case $w in
      checkpoints | LATEST.json) [ ! -d "$CKPT" ] || ckpt_index | awk -v c="$(rd latest)" '$1 > c + 0 {
        sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); print "checkpoints/" $0 }' ;;
      *) echo "$w/" ;;
    esac
  done | sort -u
}

# write_marker KIND EXIT_CODE REASON: first priority, until the deadline itself (the syncs stop at its reserve)
write_marker() { # SUCCESS/FAILURE supersede INTERRUPTED (terminal runs never run again)
  local kind=$1 f=$STATE/marker.json lf=$TRAIN_LOG m q tr="" failed="" what n ok lines="" nu="" d u="" v at
  local j_run j_reason j_id j_type j_life j_mode j_image j_started j_resumed
  [ -s "$STATE/attempt" ] || lf=$SETUP_LOG
  while read -r what n ok; do
    jsv q "$what"
    if [ "$ok" = ok ]; then tr+="${tr:+,}{\"what\":$q,\"attempts\":$n,\"ok\":true}"
    else
      tr+="${tr:+,}{\"what\":$q,\"attempts\":$n,\"ok\":false}"
      failed+="${failed:+,}$q"
    fi
  done <"$STATE/sync-report"
  while IFS= read -r m; do jsv q "$m" && lines+="${lines:+,}$q"; done < <(tail -n "$GTI_MARKER_LOG_LINES" "$lf" 2>/dev/null)
  while IFS= read -r m; do jsv q "$m" && nu+="${nu:+,}$q"; done < <(rd pending)
  m='{"status":"%s","run_id":%s,"run_id_source":"%s","reason":%s,"exit_code":%s,"instance_id":%s,"instance_type":%s,'
  m+='"lifecycle":%s,"mode":%s,"image":%s,"started_at":%s,"ended_at":"%s","resumed_from":%s,"transfers":[%s],'
  # every field quoted into a variable (no subshell per field)
  jsv j_run "$RUN_ID" && jsv j_reason "$3" && jsv j_mode "$GTI_MODE" && jsv j_image "$IMAGE"
  instance_idv v && jsv j_id "$v"
  metav v instance-type || v=
  jsv j_type "$v"
  metav v instance-life-cycle || v=
  jsv j_life "$v"
  rdv v attempt || rdv v boot-started || v=
  jsv j_started "$v"
  rdv v resumed-from || v=
  jsv j_resumed "$v"
  tsv at
  # shellcheck disable=SC2059
  printf "$m"'"failed":[%s],"not_uploaded":[%s],"last_log_lines":[%s]}\n' "$kind" "$j_run" "$RUN_SRC" "$j_reason" \
    "$2" "$j_id" "$j_type" "$j_life" "$j_mode" "$j_image" "$j_started" "$at" "$j_resumed" "$tr" "$failed" "$nu" "$lines" >"$f"
  rdv d deadline && u=$((d > EPOCHSECONDS + 2 ? d : EPOCHSECONDS + 2))
  UNTIL=$u s3x marker cp "$f" "$S3RUN/$kind" --content-type application/json || return 1
  [ "$kind" = INTERRUPTED ] || UNTIL=$u quiet "$AWS" s3 rm "$S3RUN/INTERRUPTED" || log "WARNING: INTERRUPTED not removed"
  log "marker $kind written to $S3RUN/$kind"
}

# finalize KIND EXIT_CODE REASON: once per attempt, whoever comes first; the marker last. -> "KIND FAILED-UPLOADS".
# An in-flight early sync is killed (this one does it all); after a non-zero exit the newest checkpoint is suspect.
# The first decision stands: a finalize killed midway is finished by the next one (post, the watcher) as it began.
finalize() {
  local kind=$1 rc=$2 reason=$3 settle=0 failed from x=""
  exec 8>"$STATE/finalize.lock"
  flock 8
  if [ ! -s "$STATE/finalized" ]; then
    if [ -s "$STATE/ending" ]; then read -r kind rc reason <"$STATE/ending"; else echo "$kind $rc $reason" >"$STATE/ending"; fi
    touch "$STATE/sync-report"
    from=$(($(wc -l <"$STATE/sync-report") + 1))
    stop_syncs
    if [ "$rc" != 0 ] && [ -d "$CKPT" ]; then
      settle=$GTI_CHECKPOINT_SETTLE_SECONDS x=$(ckpt_index | tail -n 1) x=${x#* * * }
    fi
    (flock -w 5 7 || log "WARNING: the sync lock is still held: syncing anyway"
      sync_checkpoints "$settle" "$x") 7>"$STATE/sync.lock" || true
    [ ! -d "$OUT" ] || s3x outputs sync "$OUT" "$S3RUN/outputs/" || true
    log "attempt ended: $kind (exit code $rc, $reason)"
    retry logs upload_logs || true
    failed=$(tail -n "+$from" "$STATE/sync-report" | awk '$3 == "failed" { printf "%s%s", s, $1; s = "," }')
    if [ -n "$failed" ] && [ "$kind" = SUCCESS ] && [ ! -e "$STATE/decided" ]; then # not in S3: cut by a notice? run again
      if [ -e "$STATE/interrupted" ]; then kind=INTERRUPTED reason=$(rd reason); else kind=FAILURE reason=sync_failed; fi
    fi
    echo "$kind $rc $reason" >"$STATE/ending" && : >"$STATE/decided" # the marker's: a finalize after this one writes it
    pending "$failed" >"$STATE/pending"
    if leader; then write_marker "$kind" "$rc" "$reason" || failed+="${failed:+,}marker"
    else log "node rank $(rd rank): no marker, rank 0 writes it"; fi
    echo "$kind $failed" >"$STATE/finalized"
    upload_logs || true
  fi
  exec 8>&-
}

# Mode hooks (runtime/README.md "Fleet mode at runtime"): fleet modes in lib/fleet.sh
MODE_DOCKER_ARGS=()
# shellcheck source-path=SCRIPTDIR source=fleet.sh
. "$GTI_HOME/lib/fleet.sh"

finish() { # finish KIND RC REASON: finalize, then shut down if the outcome says so; fails on FAILURE
  local k f
  finalize "$1" "$2" "$3"
  read -r k f <"$STATE/finalized" || true
  maybe_shutdown "$k" "${f:-}"
  [ "$k" != FAILURE ]
}
open_attempt() { [ -e "$STATE/attempt" ] && [ ! -s "$STATE/finalized" ]; }
exit_code() { rd container-rc || echo null; }

maybe_shutdown() { # KIND FAILED-UPLOADS: only after SUCCESS/FAILURE with everything in S3, never during a stop
  case $1 in SUCCESS | FAILURE) ;; *) return 0 ;; esac
  (flock 9 && [ ! -e "$STATE/stop-requested" ] && : >"$STATE/terminating") 9>"$STATE/start.lock" ||
    { log "a stop was requested: staying up"; return 0; } # halt flags a stop under the same lock: one wins
  [ -z "$2" ] || { log "NOT shutting down: $2 not in S3, the data is still here"; return 0; }
  [ "$GTI_AUTO_SHUTDOWN" = true ] || { log "GTI_AUTO_SHUTDOWN=$GTI_AUTO_SHUTDOWN: staying up"; return 0; }
  mode_shutdown
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$CONTAINER" 2>/dev/null)" = true ]; }

# halt FLAG WHY: flag the stop (under the start lock), set its deadline, SIGTERM/grace/SIGKILL, wait for the exit code.
# The grace is at most half the time left, the other half is the final sync's.
halt() {
  local until g=$GRACE l
  (flock 9 && { [ -e "$STATE/$1" ] || [ -e "$STATE/terminating" ] || echo "$2" >"$STATE/$1"; }) 9>"$STATE/start.lock"
  [ ! -e "$STATE/terminating" ] || log "the instance is terminating: $2 comes too late"
  stop_deadline
  [ -e "$STATE/container-started" ] || return 0
  time_left && l=$LEFT && [ $((l / 2)) -lt "$g" ] && g=$((l > 1 ? l / 2 : 0))
  until=$((EPOCHSECONDS + g + 15))
  while [ ! -s "$STATE/container-rc" ] && [ "$EPOCHSECONDS" -lt "$until" ]; do
    if running; then
      log "stopping the training container: SIGTERM, SIGKILL after ${g}s"
      docker stop --time "$g" "$CONTAINER" >/dev/null 2>&1 || true
    elif ! kill -0 "$(rd container.pid || rd launcher.pid || echo none)" 2>/dev/null; then break # no exit code will come
    else sleep 0.1; fi
  done
}
