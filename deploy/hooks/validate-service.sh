#!/usr/bin/env bash
# ValidateService: the web must answer 200 on /health/ready (DynamoDB and the key store reachable)
# through the reverse proxy within a bounded number of attempts, or the deployment fails here and
# CodeDeploy rolls back, before the load balancer sends this instance any traffic.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

have_command curl || die "curl not found"
body_file="$(mktemp)"
trap 'rm -f "${body_file}"' EXIT

status="none"
for attempt in $(seq 1 "${VALIDATE_ATTEMPTS}"); do
  status="$(curl --silent --max-time 2 --output "${body_file}" --write-out '%{http_code}' \
    "${HEALTH_URL}" || true)"
  if [[ "${status}" == "200" ]]; then
    log "ready: ${HEALTH_URL} answered 200 (attempt ${attempt}/${VALIDATE_ATTEMPTS})"
    exit 0
  fi
  log "not ready yet: ${HEALTH_URL} answered ${status:-nothing} (attempt ${attempt}/${VALIDATE_ATTEMPTS})"
  sleep "${VALIDATE_DELAY}"
done

log "last response body: $(head -c 500 "${body_file}" 2>/dev/null || true)"
# What the web printed before dying is in the journal (a crash at start never reaches web.log).
if have_command systemctl; then
  systemctl status "${UNIT_NAME}" --no-pager --lines=20 >&2 || true
fi
if [[ -f "${LOG_DIR}/web.log" ]]; then
  log "last lines of ${LOG_DIR}/web.log (may be from the previous process):"
  tail -n 10 "${LOG_DIR}/web.log" >&2 || true
fi
die "${HEALTH_URL} did not answer 200 after ${VALIDATE_ATTEMPTS} attempts ${VALIDATE_DELAY} s apart (last status: ${status:-none}); the web did not come up, see the lines above and 'journalctl -u ${UNIT_NAME}'"
