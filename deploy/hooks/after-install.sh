#!/usr/bin/env bash
# AfterInstall: turn the landed bundle into a versioned release, install the systemd unit and the
# proxy config, then switch `current` atomically. The previous release stays on disk (and
# `previous` points at it) so a manual rollback is one link switch and a restart.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

: "${DEPLOYMENT_ID:?DEPLOYMENT_ID is set by the CodeDeploy agent}"
[[ -f "${INCOMING_DIR}/app/dist/server.mjs" ]] ||
  die "${INCOMING_DIR}/app/dist/server.mjs is missing: did the Install step run (appspec 'files')?"

release="${RELEASES_DIR}/${DEPLOYMENT_ID}"
staging="${RELEASES_DIR}/.staging-${DEPLOYMENT_ID}"
rm -rf "${staging}"
mkdir -p "${staging}"
# Files belong to root and are read-only for the app user: the web cannot rewrite its own code.
cp -R "${INCOMING_DIR}/." "${staging}/"
chmod -R u=rwX,go=rX "${staging}"
rm -rf "${release}"
mv -T "${staging}" "${release}"
log "release ${release} ($(head -n 1 "${release}/app/REVISION" 2>/dev/null || echo 'no REVISION file'))"

install -D -m 0644 "${release}/systemd/${UNIT_NAME}" "${UNIT_FILE}"
if have_command systemctl; then
  systemctl daemon-reload
  systemctl enable "${UNIT_NAME}" >/dev/null 2>&1 || log "warning: could not enable ${UNIT_NAME} at boot"
fi
log "installed ${UNIT_FILE}"

install -D -m 0644 "${release}/nginx/fleetline.conf" "${NGINX_CONF}"
if [[ -n "${ROOT}" ]]; then
  log "root prefix set: proxy config copied, nginx itself is not touched"
elif have_command nginx; then
  nginx -t -q || die "nginx rejected ${NGINX_CONF}; run 'nginx -t' on the instance"
  systemctl reload-or-restart nginx
  log "nginx reloaded with ${NGINX_CONF}"
else
  log "warning: nginx not found; ValidateService will fail through the proxy"
fi

previous="$(release_of "${CURRENT_LINK}")"
if [[ -n "${previous}" && "${previous}" != "${DEPLOYMENT_ID}" ]]; then
  switch_link "releases/${previous}" "${PREVIOUS_LINK}"
fi
switch_link "releases/${DEPLOYMENT_ID}" "${CURRENT_LINK}"
log "current -> releases/${DEPLOYMENT_ID}${previous:+ (previous: ${previous})}"

# Keep only what the links point at; every deployment would otherwise leave a release behind.
kept_previous="$(release_of "${PREVIOUS_LINK}")"
for dir in "${RELEASES_DIR}"/*/; do
  name="$(basename "${dir}")"
  if [[ "${name}" != "${DEPLOYMENT_ID}" && "${name}" != "${kept_previous}" ]]; then
    rm -rf "${dir}"
    log "pruned release ${name}"
  fi
done
