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
 */
export async function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume(); // drain so the connection can answer
    throw new PayloadTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) {
      req.resume();
      throw new PayloadTooLargeError(limit);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size);
}
