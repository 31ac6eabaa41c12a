# shellcheck shell=bash
# Sourced by the script the rehearsal generates from buildspec.yml. Runs one phase's commands
# in the current shell, as CodeBuild does (cd and exports carry over), prints CodeBuild-like
# [Container] lines, and records the phase and any failed command in FLEETLINE_BUILD_STATUS.

fleetline_phase() {
  local name="$1"
  shift
  printf '\n[Container] %s Entering phase %s\n' "$(date -u +%H:%M:%S)" "${name}"
  printf 'phase %s\n' "${name}" >>"${FLEETLINE_BUILD_STATUS}"
  local cmd rc
  for cmd in "$@"; do
    printf '[Container] %s Running command %s\n' "$(date -u +%H:%M:%S)" "${cmd}"
    rc=0
    eval "${cmd}" || rc=$?
    if [[ "${rc}" -ne 0 ]]; then
      printf '[Container] %s Command did not exit successfully %s exit status %s\n' \
        "$(date -u +%H:%M:%S)" "${cmd}" "${rc}"
      printf 'failed %s %s\n%s\n' "${name}" "${rc}" "${cmd}" >>"${FLEETLINE_BUILD_STATUS}"
      return "${rc}"
    fi
  done
}
