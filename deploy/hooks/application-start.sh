#!/usr/bin/env bash
# ApplicationStart: (re)start the web through systemd, which restarts it on failure from now on.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

have_command systemctl || die "systemctl not found"
unit_installed || die "${UNIT_FILE} is missing: AfterInstall installs it"

# restart rather than start: on a retried deployment the unit may still be running the old code.
systemctl restart "${UNIT_NAME}"
log "started ${UNIT_NAME} from $(readlink "${CURRENT_LINK}")"
