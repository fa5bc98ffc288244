/** The shipped receiver (bench/servers/receiver.ts) in its own process, configured by `env`. */
import { spawn } from "node:child_process";

export async function startReceiver(
  env: Record<string, string>,
): Promise<{ port: number; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, ["--import", "tsx", "bench/servers/receiver.ts"], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let err = "";
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
      const m = /listening (\d+)/.exec(err);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", () => reject(new Error(`receiver exited: ${err}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
}
