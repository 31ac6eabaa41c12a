import { readFileSync } from "node:fs";
import { Fn } from "aws-cdk-lib";

/** Values the bootstrap writes into the instance; tokens are fine (resolved by CloudFormation). */
export interface InstanceBootstrapProps {
  readonly appName: string;
  readonly envName: string;
  /** Stack name and logical id of the Auto Scaling group, for cfn-signal. */
  readonly stackName: string;
  readonly signalResource: string;
  readonly region: string;
  readonly usersTableName: string;
  readonly cacheAddressParameterName: string;
  readonly cacheAuthSecretArn: string;
  readonly vpcCidr: string;
  /** `/<app>/<env>`, prefix of the log groups the CloudWatch agent ships to. */
  readonly logPrefix: string;
  /** OpenID issuer of the operators' user pool and the web's (public) client id. */
  readonly oidcIssuer: string;
  readonly oidcClientId: string;
  /** The Cognito domain's `/logout` (Cognito publishes no end_session_endpoint). */
  readonly oidcLogoutUrl: string;
  /** `https://…` origins the site is reached at, comma separated, the canonical one first. */
  readonly publicOrigins: string;
}

/** The static body of the script, shipped verbatim (see the file's header). */
export const BOOTSTRAP_SCRIPT = readFileSync(
  new URL("./instance-bootstrap.sh", import.meta.url),
  "utf8",
);

/**
 * The user data: a header of shell variables (the only part with CloudFormation values) and the
 * static script. Joining instead of Fn::Sub keeps the script free of `${!…}` escaping, so the
 * file stays a plain shell script that shellcheck can read.
 */
export function renderUserData(props: InstanceBootstrapProps): string {
  const vars: ReadonlyArray<readonly [string, string]> = [
    ["FL_APP", props.appName],
    ["FL_ENV", props.envName],
    ["FL_REGION", props.region],
    ["FL_STACK", props.stackName],
    ["FL_RESOURCE", props.signalResource],
    ["FL_USERS_TABLE", props.usersTableName],
    ["FL_CACHE_ADDRESS_PARAMETER", props.cacheAddressParameterName],
    ["FL_CACHE_AUTH_SECRET_ARN", props.cacheAuthSecretArn],
    ["FL_VPC_CIDR", props.vpcCidr],
    ["FL_LOG_PREFIX", props.logPrefix],
    ["FL_OIDC_ISSUER", props.oidcIssuer],
    ["FL_OIDC_CLIENT_ID", props.oidcClientId],
    ["FL_OIDC_LOGOUT_URL", props.oidcLogoutUrl],
    ["FL_PUBLIC_ORIGIN", props.publicOrigins],
  ];
  const parts: string[] = ["#!/bin/bash\n"];
  for (const [name, value] of vars) {
    // Every value is a name, ARN, CIDR or path (validated by the parameters' patterns): none
    // contains a single quote, so single-quoting is enough.
    parts.push(`${name}='`, value, "'\n");
  }
  parts.push(BOOTSTRAP_SCRIPT);
  return Fn.join("", parts);
}
