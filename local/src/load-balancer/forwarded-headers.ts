import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from "node:http";

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

/** Copies headers minus hop-by-hop ones, including any the Connection header names. */
export function endToEndHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  // Runs twice per proxied request: no Set to build for the usual "keep-alive" or no header.
  const connection = headers.connection;
  const named =
    connection === undefined || /^\s*(keep-alive|close)\s*$/i.test(connection)
      ? undefined
      : new Set(
          connection
            .split(",")
            .map((h) => h.trim().toLowerCase())
            .filter((h) => h !== ""),
        );
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || hopByHop.has(name) || named?.has(name)) continue;
    out[name] = value;
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

/**
 * The request headers an ALB sends to a target: X-Forwarded-For gets the client's address
 * appended (the ALB's default "append" mode, so a chain of proxies is kept), X-Forwarded-Proto
 * and X-Forwarded-Port are overwritten with the listener's protocol and port (a client cannot
 * spoof them), an X-Amzn-Trace-Id is added when absent, X-Forwarded-Host from the client is
 * dropped, and Host is passed through unchanged.
 */
export function forwardedRequestHeaders(
  req: IncomingMessage,
  listener: { readonly proto: "http" | "https"; readonly port: number },
): OutgoingHttpHeaders {
  const headers = endToEndHeaders(req.headers);
  const client = req.socket.remoteAddress ?? "";
  // IPv4 clients on a dual-stack socket show up as ::ffff:a.b.c.d; the ALB reports plain IPv4.
  const clientAddress = client.startsWith("::ffff:") ? client.slice(7) : client;
  const prior = req.headers["x-forwarded-for"];
  headers["x-forwarded-for"] = prior ? `${prior}, ${clientAddress}` : clientAddress;
  headers["x-forwarded-proto"] = listener.proto;
  headers["x-forwarded-port"] = String(listener.port);
  if (!req.headers["x-amzn-trace-id"]) headers["x-amzn-trace-id"] = newTraceId();
  // A client-chosen X-Forwarded-Host would become the host the web believes (Fastify reads it
  // from a trusted proxy), and with it the origin the anti-forgery check compares against.
  delete headers["x-forwarded-host"];
  return headers;
}
