#!/usr/bin/env bash
# BeforeInstall: check what the instance bootstrap promised and empty the landing directory, so
# the agent's Install step (file_exists_behavior: OVERWRITE) lays down exactly this revision.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

[[ -f "${ENV_FILE}" ]] ||
  die "${ENV_FILE} is missing: the instance bootstrap (user data) writes it; see deploy/CONTRACT.md"

mkdir -p "${RELEASES_DIR}" "${INCOMING_DIR}"
find "${INCOMING_DIR}" -mindepth 1 -delete
log "emptied ${INCOMING_DIR}"

if [[ ! -d "${LOG_DIR}" ]]; then
  # The bootstrap creates it; recreate it rather than fail if someone removed it.
  mkdir -p "${LOG_DIR}"
  if id -u "${APP_USER}" >/dev/null 2>&1; then
    chown "${APP_USER}:${APP_USER}" "${LOG_DIR}"
  fi
  log "recreated ${LOG_DIR}"
fi
