/** The production `node_modules` as the image installs it: its size and package count. */
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { round } from "../ratios.js";

export function productionModules(): { bytes: number; mib: number; packages: number } | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-prod-"));
  try {
    cpSync("package.json", path.join(dir, "package.json"));
    cpSync("package-lock.json", path.join(dir, "package-lock.json"));
    const install = spawnSync(
      "npm",
      ["ci", "--omit=dev", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund"],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    if (install.status !== 0) return null;
    const bytes = Number(
      execFileSync("du", ["-sb", path.join(dir, "node_modules")], { encoding: "utf8" }).split("\t")[0],
    );
    const packages = Number(
      execFileSync(
        "sh",
        ["-c", `find ${path.join(dir, "node_modules")} -name package.json -not -path '*/test/*' | wc -l`],
        { encoding: "utf8" },
      ).trim(),
    );
    return { bytes, mib: round(bytes / 1048576, 1), packages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
