// Requests written byte for byte on a TCP socket, so that what a well-behaved client library
// would refuse to send (huge or odd headers, raw request targets) reaches the server as is.
import { connect } from "node:net";

export interface RawAnswer {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Sends `head` (request line and headers, without the blank line) and `body`; reads to close. */
export function rawRequest(port: number, head: string, body = ""): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within 5 s to ${JSON.stringify(head.slice(0, 200))}`));
    }, 5000);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      // The server may close as soon as it has answered a request it refused mid-upload.
      if (chunks.length === 0) {
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      const [headText = "", ...rest] = text.split("\r\n\r\n");
      const [statusLine = "", ...headerLines] = headText.split("\r\n");
      const statusCode = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const i = line.indexOf(":");
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
      }
      resolve({ statusCode, headers, body: rest.join("\r\n\r\n") });
    });
    socket.on("connect", () => {
      // write, not end: a half-closed client makes Node drop answers still being computed.
      socket.write(`${head}\r\nhost: 127.0.0.1:${port}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
}
