#!/usr/bin/env bash
# Run once by cloud-init (the user data's runcmd), as root: fetch-runtime.sh S3_URI SHA256. Downloads the runtime
# bundle (a bash script holding every file of runtime/, uploaded by Terraform), refuses it unless its SHA-256 is the
# one the user data names, unpacks it into /opt/gpu-training and runs install.sh. When it cannot (after the attempts,
# about 6 minutes), the instance powers off with GTI_AUTO_SHUTDOWN (the single instance terminates: its shutdown
# behaviour): it could never train. Log: /var/log/training-setup.log and the console (cloud-init's output).
set -euo pipefail
R=${GTI_ROOT:-}
uri=${1:?usage: fetch-runtime.sh S3_URI SHA256} sha=${2:?usage: fetch-runtime.sh S3_URI SHA256}
# shellcheck disable=SC1091 # written by the same user data
. "$R/etc/gpu-training/runtime.env"
attempts=${GTI_FETCH_ATTEMPTS:-10} delay=${GTI_FETCH_BACKOFF_SECONDS:-5}
mkdir -p "$R/var/log"
log() { echo "$(date -u +%FT%TZ) fetch-runtime[$$]: $*" | tee -a "$R/var/log/training-setup.log" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((i = 1; ; i++)); do
  # The instance profile's credentials may lag the first seconds of a boot: retried like any transient error.
  if "${GTI_AWS_CLI:-aws}" s3 cp "$uri" "$tmp/bundle" --only-show-errors --region "${AWS_REGION:?}" &&
    echo "$sha  $tmp/bundle" | sha256sum -c --status; then
    break
  fi
  if [ "$i" -ge "$attempts" ]; then
    log "ERROR: no runtime with SHA-256 $sha at $uri after $i attempts: this instance cannot train"
    if [ "${GTI_AUTO_SHUTDOWN:-true}" = true ]; then log "powering off (GTI_AUTO_SHUTDOWN)"; systemctl poweroff; fi
    exit 1
  fi
  log "attempt $i to fetch $uri failed (or its SHA-256 is not $sha): again in ${delay}s"
  sleep "$delay"
  delay=$((delay * 2 > 60 ? 60 : delay * 2))
done
bash "$tmp/bundle" "$R/opt/gpu-training"
log "runtime $sha installed from $uri"
"$R/opt/gpu-training/install.sh"
