# shellcheck shell=bash disable=SC2034
# Sourced by lib/common.sh: the mode hooks. Fleet modes: README "Fleet mode at runtime".
fleet() { [[ $GTI_MODE == fleet-* ]]; }
# Only rank 0 of a multi-node job writes markers (every node syncs: torchrun may save anywhere); "-": not elected (yet)
leader() { [ "$GTI_MODE" != fleet-multinode ] || [ "$(rd rank)" = 0 ]; }

mode_check() {
  case $GTI_MODE in
    single) ;;
    fleet-independent | fleet-multinode)
      [ -n "$GTI_FLEET_ASG_NAME" ] && [ -n "$GTI_FLEET_LIFECYCLE_HOOK" ] && return 0
      log "GTI_FLEET_ASG_NAME and GTI_FLEET_LIFECYCLE_HOOK are required in $GTI_MODE"
      return 1 ;;
    *) log "unsupported GTI_MODE '$GTI_MODE'"; return 1 ;;
  esac
}

# adopt: a fleet-independent node claims the newest run of its fleet INTERRUPTED by spot or the group, with an S3
# conditional write (If-None-Match: *) keyed by the marker's digest: one winner per interruption.
adopt() {
  local p body
  for p in $(s3_keys "runs/$GTI_FLEET_ASG_NAME-" 'CommonPrefixes[].Prefix' | sort -r); do
    RUN_ID=${p#runs/} && RUN_ID=${RUN_ID%/}
    if ! { [[ $p == "runs/$GTI_FLEET_ASG_NAME-"[0-9]* ]] && [ "$(current_marker)" = INTERRUPTED ] &&
      body=$(quiet2 "$AWS" s3 cp "s3://$GTI_OUTPUTS_BUCKET/${p}INTERRUPTED" -) &&
      [[ $body =~ \"reason\":\"(spot_interruption|asg_termination)\" ]]; }; then continue; fi
    instance_id >"$STATE/claim"
    if quiet "$AWS" s3api put-object --bucket "$GTI_OUTPUTS_BUCKET" --key "${p}claims/$(md5sum <<<"$body" | cut -c1-32)" \
      --body "$STATE/claim" --if-none-match '*'; then
      mv "$STATE/claim" "$STATE/adopted"
      log "adopted the interrupted run $RUN_ID"
      return 0
    fi
    log "run $RUN_ID was claimed by another node"
  done
  return 1
}

# peers [GONE]: PEERS = "id private-ip launch-time" of the group's InService/Pending members (this node always, GONE
# never), oldest first; WANT = the desired capacity
peers() {
  local ids
  ids=$(quiet2 "$AWS" autoscaling describe-auto-scaling-groups --auto-scaling-group-names "$GTI_FLEET_ASG_NAME" \
    --query "AutoScalingGroups[0].[DesiredCapacity,Instances[?LifecycleState=='InService'||starts_with(LifecycleState,'Pending')].InstanceId]" \
    --output text) || return 1
  { read -r WANT && read -r ids; } <<<"$ids" || true
  [[ $WANT =~ ^[0-9]+$ ]] || return 1
  PEERS=$(quiet2 "$AWS" ec2 describe-instances --filters "Name=tag:aws:autoscaling:groupName,Values=$GTI_FLEET_ASG_NAME" \
    Name=instance-state-name,Values=pending,running --query 'Reservations[].Instances[].[InstanceId,PrivateIpAddress,LaunchTime]' \
    --output text) || return 1
  PEERS=$(awk -v ids=" ${ids//$'\t'/ } " -v me="$(instance_id)" -v gone="$1" \
    'NF == 3 && $2 != "None" && $1 != gone && (index(ids, " " $1 " ") || $1 == me)' <<<"$PEERS" | sort -k3,3 -k1,1)
}

# mode_prepare MARKER (launcher, before the container): multi-node rank election. Rank 0 = the oldest member (launch
# time, then id): the same on every node, never a replacement. Gone: a rank 0 that left (INTERRUPTED), still listed.
mode_prepare() {
  [ "$GTI_MODE" = fleet-multinode ] || return 0
  local gone="" rank="" n=0 until=$((EPOCHSECONDS + GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS)) gpus r0 ip
  echo - >"$STATE/rank"
  [ "$1" != INTERRUPTED ] || gone=$(quiet2 "$AWS" s3 cp "$S3RUN/INTERRUPTED" - |
    sed -n 's/.*"reason":"\(spot_interruption\|asg_termination\)".*"instance_id":"\([^"]*\)".*/\2/p') || true
  [ "$gone" != "$(instance_id)" ] || gone=
  while :; do
    if peers "$gone"; then
      rank=$(awk -v me="$(instance_id)" '$1 == me { print NR - 1 }' <<<"$PEERS")
      n=$(grep -c . <<<"$PEERS")
      [ -n "$rank" ] && [ "$n" -ge "$WANT" ] && [ "$rank" -lt "$WANT" ] && break
      log "waiting for peers: $n of $WANT in the group"
    fi
    [ ! -e "$STATE/interrupted" ] && [ ! -e "$STATE/stop-requested" ] || return 0
    if [ "$EPOCHSECONDS" -ge "$until" ]; then
      [ -n "$rank" ] || { log "this node is not in group $GTI_FLEET_ASG_NAME (or it cannot be read)"; return 1; }
      log "WARNING: $n of $WANT nodes after ${GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS}s: starting with them, torchrun admits the others later"
      break
    fi
    sleep "$GTI_FLEET_POLL_SECONDS"
  done
  gpus=$(nvidia-smi -L | grep -c '^GPU') || gpus=1
  read -r r0 ip _ <<<"$PEERS"
  echo "$rank" >"$STATE/rank"
  [ "$n" -le "$WANT" ] || WANT=$n
  MODE_DOCKER_ARGS=(--network host -e "MASTER_ADDR=$ip" -e "MASTER_PORT=$GTI_FLEET_MASTER_PORT" -e "NNODES=$WANT"
    -e "MIN_NNODES=$n" -e "NODE_RANK=$rank" -e "NPROC_PER_NODE=$gpus" -e "RDZV_JOIN_TIMEOUT=$GTI_FLEET_RENDEZVOUS_TIMEOUT_SECONDS")
  log "node rank $rank of $WANT, rank 0: $r0 ($ip:$GTI_FLEET_MASTER_PORT); peers: ${PEERS//$'\n'/, }"
}

mode_shutdown() { # this instance only; in a fleet through the group, lowering its desired capacity (no replacement)
  local id
  if id=$(meta instance-id) && log "terminating $id" && {
    fleet && RETRIES=3 retry terminate quiet "$AWS" autoscaling terminate-instance-in-auto-scaling-group \
      --instance-id "$id" --should-decrement-desired-capacity ||
      RETRIES=3 retry terminate quiet "$AWS" ec2 terminate-instances --instance-ids "$id"
  }; then return 0; fi
  log "could not terminate: powering off"
  systemctl poweroff
}

complete_lifecycle() { # once: let the group terminate this drained node
  [ -e "$STATE/lifecycle-done" ] && return 0
  REPORT=/dev/null RETRIES=3 retry lifecycle quiet "$AWS" autoscaling complete-lifecycle-action \
    --lifecycle-action-result CONTINUE --instance-id "$(instance_id)" --lifecycle-hook-name "$GTI_FLEET_LIFECYCLE_HOOK" \
    --auto-scaling-group-name "$GTI_FLEET_ASG_NAME" && touch "$STATE/lifecycle-done"
}
