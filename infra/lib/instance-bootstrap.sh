# Instance bootstrap (EC2 user data body), the bootstrap side of deploy/CONTRACT.md.
# infra/lib/instance-bootstrap.ts prepends "#!/bin/bash" and the FL_* variables below; this file
# itself is copied verbatim into the template (no CloudFormation substitution happens here).
#
#   FL_APP FL_ENV FL_REGION FL_STACK FL_RESOURCE FL_USERS_TABLE FL_CACHE_ADDRESS_PARAMETER
#   FL_CACHE_AUTH_SECRET_ARN FL_VPC_CIDR FL_LOG_PREFIX FL_OIDC_ISSUER FL_OIDC_CLIENT_ID
#   FL_OIDC_LOGOUT_URL FL_PUBLIC_ORIGIN
#
# Output goes to /var/log/cloud-init-output.log, which the CloudWatch agent ships to
# <FL_LOG_PREFIX>/system once it runs.
# -E: the ERR trap (failure signal) also fires for errors inside functions.
set -Eeuo pipefail

log() { printf '%s [bootstrap] %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

signal() {
  # Tells CloudFormation (creation policy / rolling update) whether this instance made it.
  /opt/aws/bin/cfn-signal --exit-code "$1" --stack "$FL_STACK" --resource "$FL_RESOURCE" \
    --region "$FL_REGION" || log "cfn-signal failed (exit code $1 not delivered)"
}

on_error() {
  local rc=$?
  log "FAILED at line $1 (exit $rc); see /var/log/cloud-init-output.log"
  if [ -x /opt/aws/bin/cfn-signal ]; then
    signal 1
  else
    log "cfn-signal is not installed: CloudFormation learns of this failure only at its timeout"
  fi
  exit "$rc"
}
trap 'on_error $LINENO' ERR

imds() {
  # IMDSv2 only (the launch template requires tokens).
  local token
  token=$(curl -sf -X PUT http://169.254.169.254/latest/api/token \
    -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
  curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/$1"
}

retry() {
  # Package mirrors and S3 occasionally drop a connection on a fresh instance.
  local attempt
  for attempt in 1 2 3 4 5; do
    if "$@"; then return 0; fi
    log "attempt $attempt of '$*' failed; retrying"
    sleep $((attempt * 5))
  done
  "$@"
}

log "bootstrapping $FL_APP ($FL_ENV) in $FL_REGION, stack $FL_STACK"

# cfn-signal first (AL2023 images do not carry it): from here on, every failure is reported to
# CloudFormation at once instead of at the end of the creation policy's timeout.
log "installing cfn-signal"
retry dnf install -y aws-cfn-bootstrap

log "installing packages"
retry dnf install -y nodejs24 nginx rsyslog ruby amazon-cloudwatch-agent

log "app user, directories"
if ! id fleetline >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /sbin/nologin fleetline
fi
install -d -m 0755 -o root -g root /opt/fleetline /opt/fleetline/releases /opt/fleetline/incoming
install -d -m 0750 -o fleetline -g fleetline /var/log/fleetline
install -d -m 0750 -o root -g fleetline /etc/fleetline

log "environment file"
env_tmp=$(mktemp /etc/fleetline/web.env.XXXXXX)
cat >"$env_tmp" <<EOF
NODE_ENV=production
HOST=127.0.0.1
PORT=5000
AWS_REGION=$FL_REGION
USERS_TABLE=$FL_USERS_TABLE
KEYRING_STORE=redis
REDIS_ADDRESS_PARAMETER=$FL_CACHE_ADDRESS_PARAMETER
REDIS_TLS=true
REDIS_AUTH_SECRET_ID=$FL_CACHE_AUTH_SECRET_ARN
TRUST_PROXY=127.0.0.1,$FL_VPC_CIDR
LOG_DIR=/var/log/fleetline
OIDC_ISSUER=$FL_OIDC_ISSUER
OIDC_CLIENT_ID=$FL_OIDC_CLIENT_ID
OIDC_LOGOUT_URL=$FL_OIDC_LOGOUT_URL
PUBLIC_ORIGIN=$FL_PUBLIC_ORIGIN
EOF
chown root:fleetline "$env_tmp"
chmod 0640 "$env_tmp"
mv -f "$env_tmp" /etc/fleetline/web.env

log "nginx placeholder"
# Until the first deployment installs the reverse proxy (same path), nginx answers 200 on /health
# so the ALB marks the instance healthy and the ELB health check of the Auto Scaling group does not
# replace instances that simply have nothing deployed yet. default_server: the stock nginx.conf
# also listens on :80, and the ALB's Host header matches neither server_name.
cat >/etc/nginx/conf.d/fleetline.conf <<'EOF'
# Placeholder written by the instance bootstrap; the first CodeDeploy deployment replaces it.
server {
    listen 80 default_server;
    listen [::]:80 default_server;
    location = /health {
        default_type text/plain;
        return 200 "ok (waiting for the first deployment)\n";
    }
    location / {
        default_type text/html;
        return 200 "<!doctype html><title>fleetline</title><p>This instance is up and waiting for the first deployment from the pipeline.</p>\n";
    }
}
EOF
nginx -t
systemctl enable nginx
systemctl restart nginx

log "rsyslog (/var/log/messages; AL2023 only has the journal by default)"
systemctl enable --now rsyslog

log "CloudWatch agent"
cat >/opt/aws/amazon-cloudwatch-agent/etc/fleetline.json <<EOF
{
  "agent": { "run_as_user": "root" },
  "logs": {
    "logs_collected": {
      "files": {
        "collect_list": [
          { "file_path": "/var/log/fleetline/*.log", "log_group_name": "$FL_LOG_PREFIX/web", "log_stream_name": "{instance_id}" },
          { "file_path": "/opt/codedeploy-agent/deployment-root/deployment-logs/codedeploy-agent-deployments.log", "log_group_name": "$FL_LOG_PREFIX/codedeploy", "log_stream_name": "{instance_id}" },
          { "file_path": "/var/log/messages", "log_group_name": "$FL_LOG_PREFIX/system", "log_stream_name": "{instance_id}" },
          { "file_path": "/var/log/cloud-init-output.log", "log_group_name": "$FL_LOG_PREFIX/system", "log_stream_name": "{instance_id}/cloud-init-output" }
        ]
      }
    }
  }
}
EOF
# root: /var/log/messages is 0600 root; the agent only reads files and writes to its log groups.
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s \
  -c file:/opt/aws/amazon-cloudwatch-agent/etc/fleetline.json

log "CodeDeploy agent"
if ! systemctl is-active --quiet codedeploy-agent; then
  installer=$(mktemp /tmp/codedeploy-install.XXXXXX)
  retry curl -fsSL -o "$installer" \
    "https://aws-codedeploy-${FL_REGION}.s3.${FL_REGION}.amazonaws.com/latest/install"
  chmod +x "$installer"
  "$installer" auto
  rm -f "$installer"
fi
systemctl enable --now codedeploy-agent

log "local health check"
for _ in $(seq 1 30); do
  if curl -sf http://127.0.0.1/health >/dev/null; then break; fi
  sleep 1
done
curl -sf http://127.0.0.1/health >/dev/null

# Signal only once Auto Scaling is about to put the instance in service. When the pipeline has
# deployed before, CodeDeploy's launch lifecycle hook holds the instance in Pending:Wait until
# the current revision is installed and validated, so a rolling update moves on only after the
# new instance really runs the app. On a fresh stack there is no hook yet and this is immediate.
log "waiting for the Auto Scaling lifecycle state InService"
state=""
for _ in $(seq 1 216); do
  state=$(imds meta-data/autoscaling/target-lifecycle-state || true)
  if [ "$state" = "InService" ]; then break; fi
  sleep 5
done
if [ "$state" != "InService" ]; then
  log "still '$state' after 18 minutes"
  false
fi

log "ready; signalling CloudFormation"
signal 0
