import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Headers that describe one connection, not the message (RFC 9110 §7.6.1); never forwarded. */
const hopByHop = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * Names the Connection header lists as hop-by-hop besides the fixed ones; undefined for the usual
 * "keep-alive" or "close" (or none), so that no Set is built per message.
 */
function namedInConnection(connection: string | undefined): ReadonlySet<string> | undefined {
  if (connection === undefined || /^\s*(keep-alive|close)\s*$/i.test(connection)) return undefined;
  return new Set(
    connection
      .split(",")
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ""),
  );
}

/**
 * A message's headers minus hop-by-hop ones (and any its Connection header names), as the flat
 * `[name, value, …]` list of `rawHeaders`, names spelled and repeated as the sender sent them.
 * A flat list rather than an object: `writeHead` and `request` take it as it is, where an object
 * is copied and every name checked again through setHeader (a tenth of a proxied request's CPU).
 */
export function endToEndHeaderList(message: IncomingMessage): string[] {
  const raw = message.rawHeaders;
  const named = namedInConnection(message.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || named?.has(lower)) continue;
    out.push(name, raw[i + 1] as string);
  }
  return out;
}

// Trace ids draw 12 random bytes per request: from a pool refilled 4 KiB at a time rather than
// one randomBytes call (a trip into OpenSSL) each; every byte is used once.
let pool = Buffer.alloc(0);
let poolOffset = 0;

/** An X-Amzn-Trace-Id root in the ALB's format: version, epoch seconds in hex, 96 random bits. */
export function newTraceId(now: number = Date.now()): string {
  const seconds = Math.floor(now / 1000).toString(16);
  if (poolOffset + 12 > pool.length) {
    pool = randomBytes(4092);
    poolOffset = 0;
  }
  const random = pool.toString("hex", poolOffset, poolOffset + 12);
  poolOffset += 12;
  return `Root=1-${seconds}-${random}`;
}

/** Request headers the balancer sets itself, whatever the client sent. */
const overwritten = new Set([
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-port",
  // A client-chosen X-Forwarded-Host would become the host the web believes (Fastify reads it
  // from a trusted proxy), and with it the origin the anti-forgery check compares against.
  "x-forwarded-host",
]);

/** Where the client connected: the listener's protocol and port (as a string, made once). */
export interface Listener {
  readonly proto: "http" | "https";
  readonly port: string;
}

/**
 * The request headers an ALB sends to a target, as a flat list (see {@link endToEndHeaderList}):
 * X-Forwarded-For gets the client's address appended (the ALB's default "append" mode, so a
 * chain of proxies is kept), X-Forwarded-Proto and X-Forwarded-Port are overwritten with the
 * listener's protocol and port (a client cannot spoof them), an X-Amzn-Trace-Id is added when
 * absent, X-Forwarded-Host from the client is dropped, and Host is passed through unchanged
 * (the first one, as Node's own parser keeps it; `fallbackHost` when the client sent none).
 */
export function forwardedRequestHeaderList(
  req: IncomingMessage,
  listener: Listener,
  fallbackHost: string,
): string[] {
  const raw = req.rawHeaders;
  const headers = req.headers;
  const named = namedInConnection(headers.connection);
  const out: string[] = [];
  let host = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const lower = name.toLowerCase();
    if (hopByHop.has(lower) || overwritten.has(lower) || named?.has(lower)) continue;
    if (lower === "host") {
      if (host) continue;
      host = true;
    }
    out.push(name, raw[i + 1] as string);
  }
  if (!host) out.push("host", fallbackHost);
  const client = req.socket.remoteAddress ?? "";
  // IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; the ALB reports plain IPv4.
  const clientAddress = client.startsWith("::ffff:") ? client.slice(7) : client;
  const prior = headers["x-forwarded-for"];
  out.push(
    "x-forwarded-for",
    prior ? `${prior}, ${clientAddress}` : clientAddress,
    "x-forwarded-proto",
    listener.proto,
    "x-forwarded-port",
    listener.port,
  );
  if (!headers["x-amzn-trace-id"]) out.push("x-amzn-trace-id", newTraceId());
  return out;
}
