import type { KeyResolver } from "../antiforgery/token.js";
import type { SigningKey } from "../keyring/index.js";
import { sign, verify } from "./signed-value.js";

/**
 * What the callback must check, kept between GET /auth/sign-in and GET /auth/callback in a
 * short-lived cookie signed with the key ring: the callback may land on another instance, and
 * the browser that started the flow must be the one that finishes it (state, nonce, and the
 * PKCE verifier never leave that browser except to the token endpoint).
 */
export interface SignInFlow {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnTo?: string;
  /** Seconds since the epoch. */
  readonly iat: number;
}

const PURPOSE = "sign-in-flow";
const PREFIX = "f1";
/** Long enough to type a password (and a temporary one's replacement on Cognito). */
export const SIGN_IN_FLOW_TTL_SECONDS = 15 * 60;

export function signInFlowCookieName(secure: boolean): string {
  return secure ? "__Host-fleetline.sign-in" : "fleetline.sign-in";
}

export function sealSignInFlow(
  key: SigningKey,
  flow: Omit<SignInFlow, "iat">,
  nowMs = Date.now(),
): string {
  return sign(key, PURPOSE, PREFIX, { ...flow, iat: Math.floor(nowMs / 1000) });
}

export async function openSignInFlow(
  keys: KeyResolver,
  cookie: string | undefined,
  nowMs = Date.now(),
): Promise<SignInFlow | undefined> {
  const result = await verify(keys, PURPOSE, PREFIX, cookie);
  if (!result.ok) return undefined;
  const v = result.value as Partial<Record<keyof SignInFlow, unknown>> | null;
  if (
    typeof v !== "object" ||
    v === null ||
    typeof v.state !== "string" ||
    typeof v.nonce !== "string" ||
    typeof v.codeVerifier !== "string" ||
    (v.returnTo !== undefined && typeof v.returnTo !== "string") ||
    typeof v.iat !== "number"
  ) {
    return undefined;
  }
  const age = nowMs / 1000 - v.iat;
  if (age < -60 || age >= SIGN_IN_FLOW_TTL_SECONDS) return undefined;
  return {
    state: v.state,
    nonce: v.nonce,
    codeVerifier: v.codeVerifier,
    ...(typeof v.returnTo === "string" && { returnTo: v.returnTo }),
    iat: v.iat,
  };
}
