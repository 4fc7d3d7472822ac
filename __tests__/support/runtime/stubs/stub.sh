#!/usr/bin/env bash
# Multi-call test stub for every command the runtime needs from the machine (aws, docker, nvidia-smi, systemctl,
# mdadm, mkfs.ext4, mount, mountpoint, lsblk, blkid, dpkg, nvidia-ctk, iptables, amazon-cloudwatch-agent-ctl), selected by
# $STUB_NAME. Every call is appended to $STUB_STATE/calls.jsonl ({t, cmd, args, env}). Rules in $STUB_STATE/rules
# simulate failures and timings: lines "<glob on 'cmd args'>\t<times|*>\t<exit code|->\t<delay s>\t<stderr>"; the
# first matching rule with times left applies (exit code "-" = only the delay, then the normal behaviour). An optional
# sixth field "<from>-<until>" (epoch ms) limits a rule to the calls starting in that window, and the delay "@end" waits
# until the window's end (a call that hangs, then fails); applied rules are logged to $STUB_STATE/faults.jsonl.
# $FAKE_S3_BYTES_PER_SECOND throttles S3 copies; $FAKE_S3_JOURNAL, when set, gets a line per S3 write or delete
# ({t, op, key, size, body: the content of LATEST.json and markers}).
# "S3" is the directory $FAKE_S3 (s3://bucket/key = $FAKE_S3/bucket/key); `aws s3 sync/cp` really copy files, and
# `s3api put-object --if-none-match '*'` is create-only. `aws autoscaling ...` and `aws ec2 describe-instances` act on
# the fleet in $FAKE_AWS_WORLD (fake-aws.cjs, run by the test process at $FAKE_AWS_ENDPOINT). `aws sts assume-role`
# returns new keys on every call (AccessKeyId ASIA<role name>N, recorded in $STUB_STATE/sessions with its tags).
# `iptables -C/-I/-D` keep rules in $STUB_STATE/iptables.
# It runs a few thousand times per test run, so it starts as few processes as it can: bash builtins and parameter
# expansion where they do exactly what the external command did (cp, mv, cat of binary data and stat stay external).
set -uo pipefail
name=$STUB_NAME
S=$STUB_STATE

J=""
jstr() { # JSON string of $1 in $J
  J=${1//\\/\\\\}
  J=${J//\"/\\\"}
  J=${J//$'\n'/\\n}
  J=\"${J//$'\t'/\\t}\"
}

record() {
  local a args="" t=${EPOCHREALTIME/./}
  for a in "$@"; do jstr "$a" && args+="${args:+,}$J"; done
  jstr "${AWS_REGION:-}"
  printf '{"t":%s,"cmd":"%s","args":[%s],"env":{"AWS_REGION":%s}}\n' "${t:0:13}" "$name" "$args" "$J" >>"$S/calls.jsonl"
}

apply_rules() {
  local line="$name $*" out="" matched="" changed="" glob times code delay msg window fd now=${EPOCHREALTIME/./}
  [ -s "$S/rules" ] || return 0
  now=${now:0:13}
  exec {fd}>>"$S/rules.lock"
  flock "$fd"
  while IFS=$'\t' read -r glob times code delay msg window; do
    # shellcheck disable=SC2053 # the rule is a glob on purpose
    if [ -z "$matched" ] && [ "$times" != 0 ] && [[ $line == $glob ]] &&
      { [ -z "$window" ] || { [ "$now" -ge "${window%-*}" ] && [ "$now" -lt "${window#*-}" ]; }; }; then
      matched="$code"$'\t'"$delay"$'\t'"${msg:-stub failure}"$'\t'"${window#*-}"
      [ "$times" = '*' ] || times=$((times - 1)) changed=1
    fi
    out+="$glob"$'\t'"$times"$'\t'"$code"$'\t'"$delay"$'\t'"$msg"${window:+$'\t'$window}$'\n'
  done <"$S/rules"
  [ -z "$changed" ] || printf '%s' "$out" >"$S/rules" # only counted rules change: the tests append "*" rules any time
  exec {fd}>&-
  [ -n "$matched" ] || return 0
  IFS=$'\t' read -r code delay msg window <<<"$matched"
  jstr "$line" && printf '{"t":%s,"call":%s,"code":"%s","delay":"%s"}\n' "$now" "$J" "$code" "$delay" >>"$S/faults.jsonl"
  if [ "$delay" = @end ]; then
    delay=$((window - now)) && printf -v delay '%d.%03d' $((delay / 1000)) $((delay % 1000))
  fi
  sleep "$delay"
  if [ "$code" != - ]; then
    echo "$msg" >&2
    exit "$code"
  fi
}

# journal OP HOST-PATH: a write (put) or delete (rm) in the fake S3, for the chaos soak's invariants. A put's time is
# the object's ctime (its rename into place), not when this line is written: a loaded machine may run this much later.
journal() {
  local key=${2#"$FAKE_S3"/} size=0 body="" t=$EPOCHREALTIME
  [ -n "${FAKE_S3_JOURNAL:-}" ] && [ "$key" != "$2" ] || return 0
  key=${key//\/\//\/}
  [ "$1" = rm ] || read -r size t < <(stat -c '%s %.6Z' "$2") || { size=0 t=$EPOCHREALTIME; }
  case ${key##*/} in LATEST.json | SUCCESS | FAILURE | INTERRUPTED) [ "$1" = rm ] || { jstr "$(<"$2")" && body=,\"body\":$J; } ;; esac
  jstr "$key"
  printf '{"t":%s,"op":"%s","key":%s,"size":%s%s}\n' "$t" "$1" "$J" "$size" "$body" >>"$FAKE_S3_JOURNAL"
}

# throttle FILE: the time a copy of FILE takes at $FAKE_S3_BYTES_PER_SECOND
throttle() {
  local ms
  [ -n "${FAKE_S3_BYTES_PER_SECOND:-}" ] || return 0
  ms=$(($(stat -c %s "$1") * 1000 / FAKE_S3_BYTES_PER_SECOND))
  [ "$ms" -lt 10 ] || sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
}

P="" D="" FILES=()
path() { case $1 in s3://*) P=$FAKE_S3/${1#s3://} ;; *) P=$1 ;; esac; } # the host path of $1 in $P

dir_of() { case $1 in */*) D=${1%/*} D=${D:-/} ;; *) D=. ;; esac; } # dirname $1 (no trailing slash given) in $D

mkdir_for() { dir_of "$1" && { [ -d "$D" ] || mkdir -p "$D"; }; } # mkdir -p "$(dirname "$1")"

# files_under DIR: the regular files under DIR (relative, also hidden ones) in $FILES, in the order of
# `find DIR -type f -printf '%P\n' | sort` (the glob is sorted by the same collation; symlinks are not regular files)
files_under() {
  local f
  FILES=()
  shopt -s globstar dotglob nullglob
  for f in "$1"/**; do [ ! -f "$f" ] || [ -L "$f" ] || FILES+=("${f#"$1"/}"); done
  shopt -u globstar dotglob nullglob
}

nap_fd=""
nap() { # sleep $1 seconds without a process: a read that times out on a pipe nobody writes to
  [ -n "$nap_fd" ] || exec {nap_fd}<> <(:)
  read -r -t "$1" -u "$nap_fd" _ || true
}

s3_sync() {
  local src=$1 dst=$2 ex=() rel p quiet=""
  shift 2
  while [ $# -gt 0 ]; do case $1 in --exclude) ex+=("$2"); shift 2 ;; --only-show-errors) quiet=1; shift ;; *) shift ;; esac; done
  path "$src"
  if [ ! -d "$P" ]; then
    [[ $src == s3://* ]] && return 0
    echo "The user-provided path $src does not exist." >&2
    return 255
  fi
  src=$P && path "$dst" && dst=$P
  [ -d "$dst" ] || mkdir -p "$dst"
  files_under "$src"
  for rel in "${FILES[@]}"; do
    for p in "${ex[@]}"; do
      # shellcheck disable=SC2053
      [[ $rel == $p ]] && continue 2
    done
    if [ ! -e "$dst/$rel" ] || [ "$src/$rel" -nt "$dst/$rel" ] || [ "$src/$rel" -ot "$dst/$rel" ]; then
      [[ $rel != */* ]] || [ -d "$dst/${rel%/*}" ] || mkdir -p "$dst/${rel%/*}"
      throttle "$src/$rel"
      cp -p "$src/$rel" "$dst/$rel.stub$$" && mv -f "$dst/$rel.stub$$" "$dst/$rel" && journal put "$dst/$rel" # S3 puts are atomic
      [ -n "$quiet" ] || echo "upload: $src/$rel to $dst/$rel"
    fi
  done
}

s3_cp() {
  local src=$1 dst=$2 from to
  if [ "$src" = - ]; then path "$dst" && to=$P && mkdir_for "$to" && cat >"$to.stub$$" && mv -f "$to.stub$$" "$to" && journal put "$to"; return; fi
  path "$src" && from=$P
  [ -f "$from" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \"$src\" does not exist" >&2; return 1; }
  if [ "$dst" = - ]; then cat "$from"; return; fi
  [[ $dst == */ ]] && dst+=${src##*/}
  path "$dst" && to=$P
  throttle "$from"
  mkdir_for "$to" && cp -p "$from" "$to.stub$$" && mv -f "$to.stub$$" "$to" && journal put "$to"
}

list_objects() { # --query 'Contents[].Key' (the default here) or 'CommonPrefixes[].Prefix' (with --delimiter /)
  local bucket="" prefix="" query="" k r keys=()
  while [ $# -gt 0 ]; do
    case $1 in --bucket) bucket=$2; shift 2 ;; --prefix) prefix=$2; shift 2 ;; --query) query=$2; shift 2 ;; *) shift ;; esac
  done
  [ -d "$FAKE_S3/$bucket" ] || { echo "An error occurred (NoSuchBucket)" >&2; return 254; }
  files_under "$FAKE_S3/$bucket"
  for k in "${FILES[@]}"; do
    [[ $k == "$prefix"* ]] || continue
    r=${k#"$prefix"}
    if [[ $query == CommonPrefixes* ]]; then
      [[ $r == */* ]] && { [ ${#keys[@]} -gt 0 ] && [ "${keys[-1]}" = "$prefix${r%%/*}/" ] || keys+=("$prefix${r%%/*}/"); }
    elif [[ $r != */* ]]; then keys+=("$k"); fi
  done
  if [ ${#keys[@]} -eq 0 ]; then echo None; else (IFS=$'\t' && echo "${keys[*]}"); fi
}

put_object() { # --bucket --key --body [--if-none-match '*']: a conditional write is create-only, atomically (O_EXCL)
  local bucket="" key="" body="" cond="" dst
  while [ $# -gt 0 ]; do
    case $1 in --bucket) bucket=$2 ;; --key) key=$2 ;; --body) body=$2 ;; --if-none-match) cond=$2 ;; esac
    shift 2
  done
  dst=$FAKE_S3/$bucket/$key
  mkdir_for "$dst"
  if [ "$cond" = '*' ]; then
    (set -C && cat "$body" >"$dst") 2>/dev/null || {
      echo "An error occurred (PreconditionFailed) when calling the PutObject operation: At least one of the pre-conditions you specified did not hold" >&2
      return 254
    }
  else cat "$body" >"$dst"; fi
  journal put "$dst"
  echo '{"ETag": "\"stub\""}'
}

assume_role() { # --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken,Expiration]' --output text
  local role="" tags="" duration=3600 n
  while [ $# -gt 0 ]; do
    case $1 in --role-arn) role=$2 ;; --tags) tags=$2 ;; --duration-seconds) duration=$2 ;; esac
    shift
  done
  n=$(($(wc -l <"$S/sessions" 2>/dev/null || echo 0) + 1))
  echo "ASIA${role##*/}$n $role $tags" >>"$S/sessions"
  printf 'ASIA%s%s\tsecret%s\ttoken%s\t%s\n' "${role##*/}" "$n" "$n" "$n" "$(date -u -d "+$duration seconds" +%FT%TZ)"
}

# fake_aws ARGS: the fleet's groups and instances: fake-aws.cjs, served by the test process one call at a time
# ($FAKE_AWS_ENDPOINT: the answer is the CLI's stdout, or its stderr with HTTP status 200 + its exit code)
fake_aws() {
  local a args="" out status
  for a in "$@"; do jstr "$a" && args+="${args:+,}$J"; done
  jstr "${FAKE_AWS_WORLD:-$S/aws-world.json}"
  out=$(curl -s -X POST --data-binary "{\"world\":$J,\"args\":[$args]}" -w '|%{http_code}' "$FAKE_AWS_ENDPOINT/gti-test/aws")
  status=${out##*|} out=${out%|*}
  if [ "$status" = 200 ]; then printf '%s' "$out" && return 0; fi
  if [ "$status" -gt 200 ] 2>/dev/null; then printf '%s' "$out" >&2 && return $((status - 200)); fi
  echo "stub aws: the test process did not answer ($FAKE_AWS_ENDPOINT)" >&2 && return 255
}

aws_main() {
  case "${1:-} ${2:-}" in
    "s3 sync") shift 2 && s3_sync "$@" ;;
    "s3 cp") shift 2 && s3_cp "$@" ;;
    "s3 rm") path "$3" && rm -f "$P" && journal rm "$P" && echo "delete: $3" ;;
    "s3api list-objects-v2") shift 2 && list_objects "$@" ;;
    "s3api put-object") shift 2 && put_object "$@" ;;
    "autoscaling "* | "ec2 describe-instances") fake_aws "$@" ;;
    "ecr get-login-password") echo stub-ecr-password ;;
    "secretsmanager get-secret-value")
      if [ -f "$S/secret" ]; then cat "$S/secret" && echo; else
        echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret value for staging label: AWSCURRENT" >&2
        return 254
      fi ;;
    "ec2 terminate-instances") echo '{"TerminatingInstances":[]}' ;;
    "sts assume-role") shift 2 && assume_role "$@" ;;
    *) echo "stub aws: unsupported call: $*" >&2 && return 252 ;;
  esac
}

docker_run() {
  local cname="" entry="" vols=() envs=() cenv=() fake=() kv k v m host ctr pid rc
  while [ $# -gt 0 ]; do
    case $1 in
      --name) cname=$2; shift 2 ;;
      -v | --volume) vols+=("$2"); shift 2 ;;
      -e | --env) envs+=("$2"); shift 2 ;;
      --entrypoint) entry=$2; shift 2 ;;
      --gpus | --ipc | --ulimit | --shm-size | --network | -w | --user | --label | --cgroup-parent) shift 2 ;;
      --*=* | --rm | -d | -i | -t | --init) shift ;;
      -*) echo "stub docker: unknown option $1" >&2 && return 125 ;;
      *) shift && break ;; # the image; the rest is the command
    esac
  done
  if [ "$entry" = nvidia-smi ]; then echo "GPU 0: NVIDIA A10G (UUID: GPU-stub)" && return 0; fi
  for kv in "${envs[@]}"; do
    if [[ $kv == *=* ]]; then k=${kv%%=*} v=${kv#*=}
    elif [ -n "${!kv+x}" ]; then k=$kv v=${!kv}
    else continue; fi
    for m in "${vols[@]}"; do # container paths -> host paths
      host=${m%%:*} ctr=${m#*:} ctr=${ctr%%:*}
      if [ "$v" = "$ctr" ] || [[ $v == "$ctr"/* ]]; then v=$host${v#"$ctr"} && break; fi
    done
    cenv+=("$k=$v")
    if [ "$k" = HF_TOKEN ]; then echo "HF_TOKEN_SHA256=$(printf '%s' "$v" | sha256sum | cut -d' ' -f1)"; else echo "$k=${kv#*=}"; fi
  done >>"$S/docker/$cname.env"
  for k in "${!FAKE_@}"; do fake+=("$k=${!k}"); done # the FAKE_* knobs (all from the environment)
  env -i PATH="$PATH" HOME="$S" "${cenv[@]}" "${fake[@]}" bash "$FAKE_TRAINER" &
  pid=$!
  echo "$pid" >"$S/docker/$cname.pid"
  trap 'kill -TERM "$pid" 2>/dev/null' TERM INT # --sig-proxy
  while kill -0 "$pid" 2>/dev/null; do wait "$pid"; done
  wait "$pid"
  rc=$?
  rm -f "$S/docker/$cname.pid"
  return "$rc"
}

docker_stop() {
  local t=10 c="" pid end
  while [ $# -gt 0 ]; do case $1 in --time | -t) t=$2; shift 2 ;; *) c=$1; shift ;; esac; done
  { pid=$(<"$S/docker/$c.pid"); } 2>/dev/null || { echo "Error response from daemon: No such container: $c" >&2 && return 1; }
  if kill -TERM "$pid" 2>/dev/null; then
    end=$((${EPOCHREALTIME/./} / 1000 + t * 1000))
    while kill -0 "$pid" 2>/dev/null && [ $((${EPOCHREALTIME/./} / 1000)) -lt "$end" ]; do nap 0.02; done
    if kill -KILL "$pid" 2>/dev/null; then echo "$((${EPOCHREALTIME/./} / 1000)) $c" >>"$S/docker/killed"; fi
    while kill -0 "$pid" 2>/dev/null; do nap 0.02; done
  fi
  echo "$c"
}

docker_main() {
  local c=$1 pid
  shift
  case $c in
    info) cat "$S/docker-runtimes" 2>/dev/null || echo '{"io.containerd.runc.v2":{},"nvidia":{},"runc":{}}' ;;
    login) cat >"$S/docker-login-stdin" ;;
    pull) ;;
    run) docker_run "$@" ;;
    stop) docker_stop "$@" ;;
    inspect)
      { pid=$(<"$S/docker/${!#}.pid"); } 2>/dev/null || { echo "Error: No such object: ${!#}" >&2 && return 1; }
      if kill -0 "$pid" 2>/dev/null; then echo true; else echo false; fi ;;
    rm)
      { pid=$(<"$S/docker/${!#}.pid"); } 2>/dev/null && kill -KILL "$pid" 2>/dev/null
      rm -f "$S/docker/${!#}.pid" ;;
  esac
}

record "$@"
apply_rules "$@"
[ -d "$S/fs" ] || mkdir -p "$S/docker" "$S/fs"
case $name in
  aws) aws_main "$@" ;;
  docker) docker_main "$@" ;;
  nvidia-smi)
    if [ "${1:-}" = -L ]; then echo "GPU 0: NVIDIA A10G (UUID: GPU-stub)"; else echo "0, NVIDIA A10G, 97 %, 20123 MiB, 23028 MiB, 61"; fi ;;
  systemctl)
    if [ "${1:-}" = is-active ]; then
      { st=$(<"$S/systemctl-$2"); } 2>/dev/null || st=inactive
      echo "$st" && [ "$st" = active ]
    fi ;;
  mdadm)
    dev=$2
    case $1 in
      --assemble) [ -e "$S/md-created" ] || exit 1 ;;
      --create) touch "$S/md-created" ;;
    esac
    mkdir_for "$dev" && touch "$dev" ;;
  mkfs.ext4) dev=${!#} && echo ext4 >"$S/fs/${dev//\//_}" ;;
  blkid) [ -f "$S/fs/${1//\//_}" ] && echo "$1: TYPE=\"ext4\"" ;;
  mount) mkdir -p "${!#}" && echo "${!#}" >>"$S/mounts" ;;
  mountpoint) grep -qxF -- "${!#}" "$S/mounts" 2>/dev/null ;;
  lsblk) cat "$S/lsblk" 2>/dev/null || true ;;
  dpkg)
    if [ "$1" = --print-architecture ]; then echo amd64
    elif [ -s "$S/dpkg-creates" ]; then
      ctl=$(<"$S/dpkg-creates")
      mkdir -p "${ctl%/*}"
      printf '#!%s\nSTUB_NAME=amazon-cloudwatch-agent-ctl\n. %q\n' "$BASH" "${BASH_SOURCE[0]}" >"$ctl" # as tools.ts's stubScript
      chmod +x "$ctl"
    fi ;;
  nvidia-ctk | amazon-cloudwatch-agent-ctl) ;;
  iptables)
    shift # -w
    op=$1 && shift
    case $op in
      -C) grep -qxF -- "$*" "$S/iptables" 2>/dev/null ;;
      -I) echo "$*" >>"$S/iptables" ;;
      *) echo "stub iptables: unsupported $op" >&2 && exit 2 ;;
    esac ;;
  *) echo "stub: unknown command $name" >&2 && exit 127 ;;
esac
