import http from "node:http";
import type { AddressInfo } from "node:net";
import type Koa from "koa";

export interface Listening {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** Serves a Koa app on a free loopback port. */
export async function listen(app: Koa | http.RequestListener): Promise<Listening> {
  const handler = typeof app === "function" ? app : app.callback();
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
