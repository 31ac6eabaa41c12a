#!/usr/bin/env bash
# ApplicationStop. CodeDeploy runs the copy of this script from the PREVIOUS successful revision
# (and skips it on an instance's first deployment), so a failure here would block every later
# deployment: it stops the service if there is one and otherwise succeeds.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

if ! have_command systemctl; then
  log "systemctl not found: nothing to stop"
  exit 0
fi
if ! unit_installed; then
  log "${UNIT_NAME} is not installed: nothing to stop"
  exit 0
fi
if ! systemctl is-active --quiet "${UNIT_NAME}"; then
  log "${UNIT_NAME} is not running: nothing to stop"
  exit 0
fi

# systemd sends SIGTERM, the web finishes its in-flight requests and exits; after TimeoutStopSec
# systemd kills it. Traffic was already drained by the load balancer in BlockTraffic.
log "stopping ${UNIT_NAME} (SIGTERM, grace period from the unit's TimeoutStopSec)"
if systemctl stop "${UNIT_NAME}"; then
  log "stopped"
else
  # ApplicationStart restarts the unit anyway; failing here would wedge the deployment group.
  log "warning: 'systemctl stop' exited $?; continuing, ApplicationStart restarts the unit"
fi
