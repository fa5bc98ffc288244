import { spawnSync } from "node:child_process";
import { expect } from "chai";

/**
 * Which heavy client libraries a process of ours loads: test/support/report-loaded.mjs,
 * preloaded, prints them at exit.
 */
function loadedBy(args: string[]): string[] {
  const run = spawnSync(
    process.execPath,
    ["--import", "tsx", "--import", "./test/support/report-loaded.mjs", ...args],
    { encoding: "utf8", env: { ...process.env, GOOGLE_CLOUD_PROJECT: "" } },
  );
  const line = run.stderr.split("\n").find((l) => l.startsWith("LOADED "));
  if (!line) throw new Error(`no LOADED line (exit ${run.status}): ${run.stderr}`);
  return JSON.parse(line.slice("LOADED ".length)) as string[];
}

describe("unit: the CLI loads a client library only for the commands that use it", function () {
  this.timeout(30_000);

  it("when --help is asked, of the CLI or of a command, then no Google client and no SendGrid library is loaded", () => {
    for (const args of [
      ["--help"],
      ["dlq", "list", "--help"],
      ["orders", "resolve", "--help"],
      ["doctor", "--help"],
    ]) {
      expect(loadedBy(["services/cli/main.ts", ...args]), args.join(" ")).to.deep.equal([]);
    }
  });

  it("when clients are opened for Pub/Sub only, then Pub/Sub is loaded and Firestore is not (the check can see a load)", () => {
    const script =
      'const { PipelineClients } = await import("./services/cli/pipeline-clients.ts");' +
      'const c = await PipelineClients.open({ GOOGLE_CLOUD_PROJECT: "p" }, ["pubsub"]);' +
      "await c.close();";
    const loaded = loadedBy(["--input-type=module", "-e", script]);
    expect(loaded).to.include("@google-cloud/pubsub");
    expect(loaded).to.not.include("@google-cloud/firestore");
  });
});
