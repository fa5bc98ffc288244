#!/usr/bin/env node
// `npm test`: the whole suite. Requires Node 22+ (the repo provides Node 24 through
// the `node` devDependency, which npm puts first on PATH for scripts).
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";

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
// Node's compile cache for the suite and every process it starts (the CLI runs about 50
// times, the local stack and the services a few dozen): each start then reads V8's code
// for the Google clients, Stripe and the rest instead of compiling it again (about 0.8 s
// of a 2.3 s CLI start here). Tests that measure or check the cache set their own.
const env = {
  ...process.env,
  NODE_COMPILE_CACHE:
    process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), "fulfilment-test-compile-cache"),
};
for (const [name, command, args] of steps) {
  const result = spawnSync(command, args, { stdio: "inherit", env });
  if (result.status !== 0) {
    console.error(`${name} failed (exit ${result.status ?? result.signal})`);
    process.exit(result.status ?? 1);
  }
}
