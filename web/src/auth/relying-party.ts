import * as oidc from "openid-client";
import { isLoopbackHost } from "../config.js";

export interface RelyingPartyOptions {
  /** The provider's issuer URL; its `/.well-known/openid-configuration` is read on first use. */
  readonly issuer: string;
  readonly clientId: string;
  /** `<public origin>/auth/callback`, registered with the provider as a callback URL. */
  readonly redirectUri: string;
  /** Where the browser lands after signing out at the provider: the public origin. */
  readonly postLogoutRedirectUri: string;
  /**
   * Cognito's `/logout`. Its discovery document lists it as end_session_endpoint, but it wants
   * `client_id` and `logout_uri`, not RP-Initiated Logout's `post_logout_redirect_uri`.
   */
  readonly logoutUrl?: string | undefined;
  /** Per request to the provider, in seconds; default 5 (discovery, token, JWKS). */
  readonly timeoutSeconds?: number;
}

export interface SignInRequest {
  readonly url: URL;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** The provider's discovery or token endpoint failed: nobody can sign in until it answers. */
export class ProviderUnavailableError extends Error {
  override readonly name = "ProviderUnavailableError";
}

/** The provider's answer to the callback was refused (state, nonce, code, signature…). */
export class SignInRefusedError extends Error {
  override readonly name = "SignInRefusedError";
}

/**
 * The web as an OpenID Connect relying party: authorization code flow with PKCE (S256), state
 * and nonce, as a public client (Cognito's app client has no secret; nothing to leak from an
 * instance). openid-client validates the ID token (signature from the provider's JWKS, iss, aud,
 * exp, nonce) and the RFC 9207 `iss` response parameter.
 *
 * Discovery happens on the first sign-in and is cached; a failed discovery is retried on the
 * next one, so an instance starts (and serves its public pages) while the provider is down.
 */
export class RelyingParty {
  readonly #options: RelyingPartyOptions;
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(options: RelyingPartyOptions) {
    this.#options = options;
  }

  configuration(): Promise<oidc.Configuration> {
    this.#configuration ??= this.#discover().catch((err: unknown) => {
      this.#configuration = undefined;
      throw new ProviderUnavailableError(
        `OpenID provider discovery failed: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    return this.#configuration;
  }

  async #discover(): Promise<oidc.Configuration> {
    const issuer = new URL(this.#options.issuer);
    // Plain http is allowed for a provider on this machine only (config.ts refuses it elsewhere;
    // checked again here so no other caller can widen it).
    const insecure = issuer.protocol === "http:" && isLoopbackHost(issuer.hostname);
    return oidc.discovery(issuer, this.#options.clientId, undefined, oidc.None(), {
      timeout: this.#options.timeoutSeconds ?? 5,
      ...(insecure && { execute: [oidc.allowInsecureRequests] }),
    });
  }

  async signInRequest(): Promise<SignInRequest> {
    const config = await this.configuration();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#options.redirectUri,
      scope: "openid email",
      response_type: "code",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Exchanges the callback's code for tokens and returns who signed in. `callbackUrl` must be
   * built from the configured public origin (never the Host header), so that its redirect_uri
   * is the registered one.
   */
  async complete(
    callbackUrl: URL,
    expected: { readonly state: string; readonly nonce: string; readonly codeVerifier: string },
  ): Promise<{ readonly sub: string; readonly email?: string }> {
    const config = await this.configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, callbackUrl, {
        pkceCodeVerifier: expected.codeVerifier,
        expectedState: expected.state,
        expectedNonce: expected.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      if (isNetworkFailure(err)) {
        throw new ProviderUnavailableError("the OpenID provider's token endpoint did not answer", {
          cause: err,
        });
      }
      throw new SignInRefusedError(err instanceof Error ? err.message : String(err), {
        cause: err,
      });
    }
    const claims = tokens.claims();
    if (!claims?.sub) throw new SignInRefusedError("the ID token has no subject");
    const email = typeof claims.email === "string" ? claims.email : undefined;
    return email === undefined ? { sub: claims.sub } : { sub: claims.sub, email };
  }

  /**
   * Where to send the browser to end its session at the provider as well, or undefined when
   * the provider offers no way. Without it, the next sign-in would pass straight through.
   */
  async endSessionUrl(): Promise<URL | undefined> {
    const { logoutUrl, clientId, postLogoutRedirectUri } = this.#options;
    if (logoutUrl !== undefined) {
      const url = new URL(logoutUrl);
      url.searchParams.set("client_id", clientId);
      url.searchParams.set("logout_uri", postLogoutRedirectUri);
      return url;
    }
    let config: oidc.Configuration;
    try {
      config = await this.configuration();
    } catch {
      return undefined; // signing out here still works; the provider's session stays
    }
    if (config.serverMetadata().end_session_endpoint === undefined) return undefined;
    return oidc.buildEndSessionUrl(config, {
      client_id: clientId,
      post_logout_redirect_uri: postLogoutRedirectUri,
    });
  }
}

function isNetworkFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // fetch() failures (refused, reset, DNS) and openid-client's timeout abort.
  return (
    (err instanceof TypeError && err.message === "fetch failed") ||
    err.name === "TimeoutError" ||
    err.name === "AbortError"
  );
}
