#!/usr/bin/env node
// `npm test`: the whole suite. Requires Node 22+ (the repo provides Node 24 through
// the `node` devDependency, which npm puts first on PATH for scripts).
import { spawnSync } from "node:child_process";

const major = Number(process.versions.node.split(".")[0]);
if (major < 22) {
  console.error(
    `Node ${process.versions.node} is too old: run through npm (npm test) after npm ci, which provides Node 24.`,
  );
  process.exit(1);
}
console.log(`node ${process.version}`);
const steps = [
  ["terraform fmt", "node", ["scripts/check-terraform.mjs"]],
  ["mocha", "mocha", process.argv.slice(2)],
];
for (const [name, command, args] of steps) {
  const result = spawnSync(command, args, { stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
