import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const render = (args: string[]) =>
  spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--render", ...args], {
    encoding: "utf8",
    timeout: 60_000,
  });

describe("unit: docs/BENCHMARKS.md", function () {
  this.timeout(90_000);

  it("when the bench's prose or bench/results.json changes, then the committed document is rendered again (`npm run bench -- --render`)", () => {
    const run = render(["--check"]);
    expect(run.status, run.stdout + run.stderr).to.equal(0);
    expect(run.stdout).to.include("is current with");
  });

  it("when the results are other than those the document was rendered from, then --check says so and exits 1", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "bench-render-"));
    try {
      // The committed results with one figure changed: the document no longer matches them.
      const results = JSON.parse(readFileSync("bench/results.json", "utf8")) as { date: string };
      results.date = "2000-01-01T00:00:00.000Z";
      writeFileSync(path.join(dir, "results.json"), JSON.stringify(results));
      const run = render(["--check", "--out", dir]);
      expect(run.status).to.equal(1);
      expect(run.stderr).to.include("npm run bench -- --render");
      const missing = render(["--check", "--out", path.join(dir, "none")]);
      expect(missing.status).to.equal(2);
      expect(missing.stderr).to.include("run `npm run bench` first");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
