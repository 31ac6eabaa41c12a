import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { page } from "./views/layout.js";
import { refusedBody } from "./views/refused.js";

type ConnectionError = Error & { readonly code?: string };

const EXPLANATIONS: Readonly<Record<number, string>> = {
  408: "The request took too long to arrive, so it was not read.",
  431: "The request's headers are larger than 16 KB (often too many or too large cookies), so it was not read.",
  400: "The request was malformed (for example a control character in a header), so it was not read.",
};

/**
 * Fastify's `clientErrorHandler`: requests Node's HTTP parser refuses never reach Fastify's
 * routing or hooks, and Fastify's default answers them with JSON. This answers with the same
 * kind of page as every other 4xx, `x-served-by` included, then closes the connection.
 */
export function clientErrorPage(
  instanceId: string,
  /** The site's security headers (CSP, nosniff, frame options…): this answer bypasses every hook. */
  securityHeaders: ReadonlyArray<readonly [string, string]>,
): (error: ConnectionError, socket: Socket) => void {
  const headerLines = securityHeaders.map(([name, value]) => `${name}: ${value}\r\n`).join("");
  return (error, socket) => {
    // A reset connection has nobody left to answer.
    if (error.code === "ECONNRESET" || socket.destroyed) return;
    const status =
      error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? 408
        : error.code === "HPE_HEADER_OVERFLOW"
          ? 431
          : 400;
    const body = page({
      title: STATUS_CODES[status] ?? "Bad request",
      instanceId,
      body: refusedBody(EXPLANATIONS[status] ?? "The request was malformed."),
    });
    if (socket.writable) {
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          "content-type: text/html; charset=utf-8\r\n" +
          `content-length: ${Buffer.byteLength(body)}\r\n` +
          `x-served-by: ${instanceId}\r\n` +
          headerLines +
          "cache-control: no-store\r\nconnection: close\r\n\r\n" +
          body,
      );
    }
    socket.destroy(error);
  };
}
