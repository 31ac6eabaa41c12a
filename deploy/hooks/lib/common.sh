# shellcheck shell=bash
# shellcheck disable=SC2034  # the constants are read by the hooks that source this file
# Helpers shared by every lifecycle hook; sourced, never executed.
#
# The hooks run as root on EC2 and, unchanged, in the local rehearsal (`npm run rehearse`). The
# only seam between the two is environment variables named FLEETLINE_*, all unset on EC2:
#   FLEETLINE_ROOT        prefix of every absolute path below (default "": the real filesystem);
#                         the rehearsal gives each local instance its own root directory
#   FLEETLINE_HEALTH_URL  what ValidateService polls (default: through nginx on :80)
#   FLEETLINE_VALIDATE_ATTEMPTS / FLEETLINE_VALIDATE_DELAY  its bounded retry (default 20 x 2 s)
# and commands (systemctl, curl) are looked up on PATH, where the rehearsal puts its systemctl shim.
set -euo pipefail

readonly ROOT="${FLEETLINE_ROOT:-}"
readonly APP_DIR="${ROOT}/opt/fleetline"
readonly RELEASES_DIR="${APP_DIR}/releases"
readonly CURRENT_LINK="${APP_DIR}/current"
readonly PREVIOUS_LINK="${APP_DIR}/previous"
readonly INCOMING_DIR="${APP_DIR}/incoming"
readonly ENV_FILE="${ROOT}/etc/fleetline/web.env"
readonly LOG_DIR="${ROOT}/var/log/fleetline"
readonly UNIT_NAME="fleetline-web.service"
readonly UNIT_FILE="${ROOT}/etc/systemd/system/${UNIT_NAME}"
readonly NGINX_CONF="${ROOT}/etc/nginx/conf.d/fleetline.conf"
readonly APP_USER="fleetline"
readonly HEALTH_URL="${FLEETLINE_HEALTH_URL:-http://127.0.0.1/health/ready}"
readonly VALIDATE_ATTEMPTS="${FLEETLINE_VALIDATE_ATTEMPTS:-20}"
readonly VALIDATE_DELAY="${FLEETLINE_VALIDATE_DELAY:-2}"

# CodeDeploy keeps stdout and stderr of each script in its deployment log; timestamps on stderr
# let a reader line hook output up with the agent's own log.
log() {
  printf '%s [%s] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "${LIFECYCLE_EVENT:-hook}" "$*" >&2
}

die() {
  log "FAILED: $*"
  exit 1
}

unit_installed() {
  [[ -f "${UNIT_FILE}" ]]
}

have_command() {
  command -v "$1" >/dev/null 2>&1
}

# Replaces a symlink in one rename(2), so readers see either the old or the new target, never none.
switch_link() {
  local target="$1" link="$2"
  ln -sfn "${target}" "${link}.next"
  mv -T "${link}.next" "${link}"
}

# The release a link points at, as a bare directory name ("" when the link is absent).
release_of() {
  local link="$1"
  if [[ -L "${link}" ]]; then
    basename "$(readlink "${link}")"
  fi
}
