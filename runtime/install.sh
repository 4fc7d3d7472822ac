#!/usr/bin/env bash
# Run as root by the user data; idempotent. Installs the units, helpers and the stop timeout derived from the config,
# starts the watcher and the run.
set -euo pipefail
H=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$H/lib/common.sh"
load_config
install -d "$R/etc/systemd/system/training.service.d" "$R/usr/local/bin" "$R/var/lib/gpu-training" "$R/var/log"
install -m 0644 "$H"/systemd/*.service "$R/etc/systemd/system/"
# systemd SIGKILLs the launcher after this: its stop (grace, final sync, marker) is bounded by less (runtime/README.md)
printf '[Service]\nTimeoutStopSec=%s\n' $(($(stop_budget) + 10)) >"$R/etc/systemd/system/training.service.d/timeouts.conf"
for f in training-status training-stop; do ln -sfn "$H/bin/$f" "$R/usr/local/bin/$f"; done
systemctl daemon-reload
systemctl enable gpu-training-bootstrap.service training.service gpu-training-spot-watcher.service
systemctl start --no-block gpu-training-spot-watcher.service training.service
echo "gpu-training runtime installed"
