#!/usr/bin/env node
// terraform fmt -check on terraform/, where terraform is installed. The provider
// cannot be downloaded offline, so `validate` is not run here (see terraform/README.md).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";

if (!existsSync("terraform")) process.exit(0);
const version = spawnSync("terraform", ["version"], { encoding: "utf8" });
if (version.error || version.status !== 0) {
  console.error("!!! terraform is not installed: terraform fmt -check NOT RUN");
  process.exit(0);
}
const fmt = spawnSync("terraform", ["fmt", "-check", "-recursive", "-diff", "terraform"], {
  stdio: "inherit",
});
if (fmt.status !== 0) {
  console.error("terraform fmt -check failed: run `terraform fmt -recursive terraform`");
  process.exit(1);
}
console.log("terraform fmt -check: ok");
