import type { IncomingMessage } from "node:http";
import { AppError } from "./errors.js";

export const MAX_BODY_BYTES = 256 * 1024;

export class PayloadTooLargeError extends AppError {
  constructor(limit: number) {
    super(`request body exceeds ${limit} bytes`, { status: 413, code: "payload_too_large" });
  }
}

/**
 * Reads the request body as the exact bytes sent (signatures are over those bytes,
 * so no parser may touch them first), refusing anything over `limit` as soon as
 * it is known: from Content-Length before reading, or mid-stream otherwise.
 * Event listeners rather than `for await`: this is the receiver's hot path.
 */
export function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume(); // drain so the connection can answer
      reject(new PayloadTooLargeError(limit));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    // The listeners stay: `done` makes later events no-ops, and the request is dropped
    // once answered, so removing four listeners per request is work the hot path skips.
    const finish = (err: Error | null) => {
      if (done) return;
      done = true;
      if (err) {
        req.resume();
        reject(err);
      } else {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) finish(new PayloadTooLargeError(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => finish(null);
    const onError = (err: Error) => finish(err);
    const onAborted = () =>
      finish(new AppError("client aborted the request", { status: 400, code: "aborted" }));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
  });
}
