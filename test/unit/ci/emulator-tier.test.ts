import { expect } from "chai";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const mochaBin = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");

/** Runs the probe spec in a child mocha with the suite's fixtures and reporter, and only `bin` on PATH. */
function runProbe(
  bin: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        mochaBin,
        "--no-config",
        "--node-option",
        "import=tsx",
        "--require",
        "test/support/global-fixtures.ts",
        "--reporter",
        "test/support/summary-reporter.cjs",
        "--timeout",
        "20000",
        "test/support/tier-probe.ts",
      ],
      { env: { PATH: bin, HOME: process.env.HOME ?? "/tmp", ...env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    let stdout = "";
    child.stdout.on("data", (c: Buffer) => {
      output += c.toString();
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.once("exit", (code) => resolve({ code, output, stdout }));
  });
}

async function fakeBin(scripts: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "fake-bin-"));
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
  }
  return dir;
}

describe("unit: the integration tier cannot pass by being skipped", function () {
  this.timeout(60_000);

  it("when gcloud and its emulators are installed but fail to start, then the run fails", async () => {
    const bin = await fakeBin({
      gcloud: [
        'if [ "$1" = "--version" ]; then',
        '  echo "Google Cloud SDK 528.0.0"; echo "beta 2025.01.01"; echo "cloud-firestore-emulator 1.19.0"; echo "pubsub-emulator 0.8.0"',
        "  exit 0",
        "fi",
        'echo "ERROR: (gcloud.emulators) address already in use" >&2',
        "exit 1",
      ].join("\n"),
      java: 'echo "openjdk version \\"17.0.15\\"" >&2',
    });
    const run = await runProbe(bin, { CI: "true" });
    expect(run.code, run.output).to.not.equal(0);
    expect(run.output).to.include("EMULATORS FAILED TO START");
    expect(run.output).to.not.include("1 passed");
  });

  it("when they are absent altogether, then the tier is pending with a banner at the start and the end, counted in the closing line", async () => {
    const bin = await fakeBin({});
    const run = await runProbe(bin);
    expect(run.code, run.output).to.equal(0);
    const banners = run.output.match(/EMULATORS UNAVAILABLE: the gcloud CLI is not installed/g) ?? [];
    expect(banners).to.have.length(2);
    // The closing line ends stdout (stderr's banners may arrive around it).
    expect(run.stdout).to.match(/tests: 0 passed, 0 failed, 1 skipped\s*$/);
  });

  it("when they are absent and REQUIRE_EMULATORS=1 (Cloud Build), then the run fails", async () => {
    const bin = await fakeBin({});
    const run = await runProbe(bin, { REQUIRE_EMULATORS: "1" });
    expect(run.code, run.output).to.not.equal(0);
    expect(run.output).to.include("REQUIRE_EMULATORS=1");
  });
});
