import type { ServerResponse } from "node:http";
import { escapeHtml } from "@fleetline/web/html";

/**
 * A small, self-contained HTML page for the load balancer's own answers (502/503/504). It names
 * what happened in one sentence so that a person looking at the browser knows whether the fleet
 * is down, an instance crashed, or an instance was too slow — the ALB's bare pages do not.
 */
export function renderErrorPage(status: number, title: string, detail: string): string {
  const t = escapeHtml(`${status} ${title}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${t}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.5rem}small{color:#666}</style></head>
<body><h1>${t}</h1><p>${escapeHtml(detail)}</p><small>fleetline local load balancer</small></body></html>
`;
}

/** Sends {@link renderErrorPage} unless the response already started (then only closes it). */
export function sendErrorPage(
  res: ServerResponse,
  status: number,
  title: string,
  detail: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = renderErrorPage(status, title, detail);
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "cache-control": "no-store",
    server: "fleetline-lb",
  });
  res.end(body);
}
