import { Aws, type CfnCondition, Duration, Fn, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as cognito from "aws-cdk-lib/aws-cognito";
import { Construct } from "constructs";

export interface OperatorsProps {
  /** The first operator, invited at creation (Cognito mails a temporary password). */
  readonly operatorEmail: string;
  /** `<app>-<env>`: first part of the Cognito domain prefix. */
  readonly name: string;
  /** Origins the web is reached at (`https://…`); each gets `/auth/callback` and `/`. */
  readonly origins: readonly string[];
  /** One more origin, only when the condition holds (the custom domain). */
  readonly conditionalOrigin?: { readonly condition: CfnCondition; readonly origin: string };
}

/**
 * Who may sign in: a Cognito user pool with no self sign-up (operators are invited), e-mail as
 * user name, TOTP required, and one public app client (authorization code with PKCE, no secret
 * on the instances) whose only callbacks are the site's HTTPS origins. Managed login runs on a
 * Cognito domain named after the stack.
 */
export class Operators extends Construct {
  public readonly userPool: cognito.UserPool;
  public readonly client: cognito.UserPoolClient;
  public readonly domain: cognito.UserPoolDomain;
  /** `https://cognito-idp.<region>.amazonaws.com/<pool id>`: the OpenID issuer. */
  public readonly issuer: string;
  /** The managed login's sign-out endpoint, where the web ends the Cognito session too. */
  public readonly logoutUrl: string;

  constructor(scope: Construct, id: string, props: OperatorsProps) {
    super(scope, id);

    this.userPool = new cognito.UserPool(this, "UserPool", {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      // Essentials: managed login; its free tier covers 10,000 monthly active users.
      featurePlan: cognito.FeaturePlan.ESSENTIALS,
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(7),
      },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      userInvitation: {
        emailSubject: "Your fleetline operator account",
        emailBody:
          "You are an operator of a fleetline site. Sign in with {username} and the temporary password {####}; you will choose a password and set up an authenticator app.",
      },
      // Operators are re-invited in minutes; a retained pool would block re-creating the stack
      // under the same name without protecting any data (the users directory lives in DynamoDB).
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Validations.of(this.userPool).acknowledge({
      id: "AwsSolutions-COG8",
      reason:
        "Essentials has managed login and required TOTP, which an invited-operators pool needs; Plus adds threat protection at a per-user price, an operator's choice rather than a default (no self sign-up here, and the web rate-limits sign-ins).",
    });

    new cognito.CfnUserPoolUser(this, "FirstOperator", {
      userPoolId: this.userPool.userPoolId,
      username: props.operatorEmail,
      userAttributes: [
        { name: "email", value: props.operatorEmail },
        { name: "email_verified", value: "true" },
      ],
      desiredDeliveryMediums: ["EMAIL"],
    });

    // The conditional origin is dropped whole (AWS::NoValue in place of the URL): a NoValue
    // inside the Join would leave a bare "/auth/callback", which Cognito refuses.
    const urls = (path: string): string[] => {
      const out = props.origins.map((o) => Fn.join("", [o, path]));
      const extra = props.conditionalOrigin;
      if (extra) {
        out.unshift(
          Fn.conditionIf(
            extra.condition.logicalId,
            Fn.join("", [extra.origin, path]),
            Aws.NO_VALUE,
          ).toString(),
        );
      }
      return out;
    };
    const callbacks = urls("/auth/callback");
    const signedOut = urls("/");
    this.client = this.userPool.addClient("WebClient", {
      // Public: the instances hold no client secret; PKCE protects the code exchange.
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: callbacks,
        logoutUrls: signedOut,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(8),
    });

    // Domain prefixes are global per region: the app and environment, plus the first block of
    // the stack id's UUID so that a recreated stack or a second account does not collide.
    const stackUuid = Fn.select(2, Fn.split("/", Aws.STACK_ID));
    this.domain = this.userPool.addDomain("Domain", {
      cognitoDomain: {
        domainPrefix: Fn.join("-", [props.name, Fn.select(0, Fn.split("-", stackUuid))]),
      },
      managedLoginVersion: cognito.ManagedLoginVersion.NEWER_MANAGED_LOGIN,
    });
    new cognito.CfnManagedLoginBranding(this, "Branding", {
      userPoolId: this.userPool.userPoolId,
      clientId: this.client.userPoolClientId,
      useCognitoProvidedValues: true,
    });

    this.issuer = this.userPool.userPoolProviderUrl;
    this.logoutUrl = `${this.domain.baseUrl()}/logout`;
  }
}
