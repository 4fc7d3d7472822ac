#!/usr/bin/env bash
# Run as root by the user data; idempotent. Installs the units and helpers, starts the watcher and the run.
set -euo pipefail
R=${GTI_ROOT:-}
H=$(cd "$(dirname "$0")" && pwd)
install -d "$R/etc/systemd/system" "$R/usr/local/bin" "$R/var/lib/gpu-training" "$R/var/log"
install -m 0644 "$H"/systemd/*.service "$R/etc/systemd/system/"
for f in training-status training-stop; do ln -sfn "$H/bin/$f" "$R/usr/local/bin/$f"; done
systemctl daemon-reload
systemctl enable gpu-training-bootstrap.service training.service gpu-training-spot-watcher.service
systemctl start --no-block gpu-training-spot-watcher.service training.service
echo "gpu-training runtime installed"
