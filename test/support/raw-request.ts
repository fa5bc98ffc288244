import http from "node:http";

export interface RawResponse {
  status: number;
  body: string;
}

/**
 * One request with headers exactly as given: an array of [name, value] pairs, so a
 * header can be sent twice (fetch would join the two into one).
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers: [string, string][]; body: Buffer | string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    // A name with several values goes out as that many header lines.
    const headers: Record<string, string[]> = {};
    for (const [name, value] of options.headers) (headers[name.toLowerCase()] ??= []).push(value);
    const request = http.request(url, { method: options.method ?? "POST", headers });
    request.once("error", reject);
    request.once("response", (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.once("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      response.once("error", reject);
    });
    request.end(options.body);
  });
}
