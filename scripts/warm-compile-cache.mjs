#!/usr/bin/env node
/**
 * Fills Node's compile cache (V8 code cache, NODE_COMPILE_CACHE) for both services, so a
 * cold start reads compiled code instead of compiling the Google client libraries again.
 * The image runs it at build time (Dockerfile), as the user and at the paths the services
 * run with: Node keys the cache by Node version, user id and each file's path and content,
 * and a file that changed is simply compiled again.
 *
 * It starts each built service from dist/ with plain placeholder configuration (no network:
 * nothing is contacted before /ready), as Cloud Run would (traces to Cloud Trace, so the
 * exporter's modules are cached too), waits for /ready, stops it with SIGTERM (Node writes
 * the cache as the process exits) and reports what the cache holds.
 *
 *   NODE_COMPILE_CACHE=DIR node scripts/warm-compile-cache.mjs [--dist DIR]
 */
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";

const HELP = `usage: NODE_COMPILE_CACHE=DIR node scripts/warm-compile-cache.mjs [--dist DIR]

Starts the receiver and the fulfiller once each from DIST (default: dist) with placeholder
configuration, waits for /ready, stops them with SIGTERM, and leaves Node's compile cache
in NODE_COMPILE_CACHE. Run it as the user, and with the paths, that the services run with.`;

const args = process.argv.slice(2);
if (args.includes("--help") || args.includes("-h")) {
  console.log(HELP);
  process.exit(0);
}
const distIndex = args.indexOf("--dist");
const dist = path.resolve(distIndex >= 0 ? (args[distIndex + 1] ?? "") : "dist");
const cacheDir = process.env.NODE_COMPILE_CACHE;
if (!cacheDir) {
  console.error(
    `warm-compile-cache: NODE_COMPILE_CACHE is not set; it names the cache directory.\n\n${HELP}`,
  );
  process.exit(2);
}

const PLACEHOLDERS = {
  PORT: "0",
  K_SERVICE: "warm-compile-cache",
  GOOGLE_CLOUD_PROJECT: "warm-compile-cache",
  METADATA_SERVER_DETECTION: "none",
  OTEL_TRACES_EXPORTER: "gcp",
  STRIPE_WEBHOOK_SECRET: "whsec_placeholder_for_the_warm_up_only",
  STRIPE_API_KEY: "sk_test_placeholder",
  SENDGRID_API_KEY: "SG.placeholder",
  EMAIL_FROM: "orders@example.com",
  FULFILMENT_EMAIL_TO: "ship@example.com",
  PUSH_AUDIENCE: "https://fulfiller.example",
  PUSH_SERVICE_ACCOUNT: "push@warm-compile-cache.iam.gserviceaccount.com",
  LOG_LEVEL: "info",
};

/** Starts one service, waits for /ready, stops it; rejects with its output on any failure. */
function warm(service) {
  const script = path.join(dist, "services", service, "main.js");
  const child = spawn(process.execPath, [script], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_COMPILE_CACHE: cacheDir, ...PLACEHOLDERS },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (c) => (output += c));
  child.stderr.on("data", (c) => (output += c));
  return new Promise((resolve, reject) => {
    const fail = (why) => {
      child.kill("SIGKILL");
      reject(new Error(`${service}: ${why}\n${output}`));
    };
    const timer = setTimeout(() => fail("not ready within 60 s"), 60_000);
    let asked = false;
    const poll = setInterval(async () => {
      const port = /"port":(\d+)/.exec(output)?.[1];
      if (!port || asked) return;
      asked = true;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/ready`);
        if (res.status === 200) {
          clearInterval(poll);
          child.kill("SIGTERM");
          return;
        }
      } catch {
        // not listening yet
      }
      asked = false;
    }, 20);
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      clearInterval(poll);
      if (code === 0) resolve();
      else reject(new Error(`${service} exited ${code ?? signal} before a clean stop\n${output}`));
    });
  });
}

function cacheSize(dir) {
  let files = 0;
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    files++;
    bytes += statSync(path.join(entry.parentPath, entry.name)).size;
  }
  return { files, bytes };
}

try {
  for (const service of ["receiver", "fulfiller"]) await warm(service);
} catch (err) {
  console.error(`warm-compile-cache: ${err.message}`);
  process.exit(1);
}
const { files, bytes } = cacheSize(cacheDir);
if (files === 0) {
  console.error(`warm-compile-cache: both services stopped cleanly but ${cacheDir} is empty`);
  process.exit(1);
}
console.log(
  `warm-compile-cache: ${files} compiled files, ${(bytes / 1024 / 1024).toFixed(1)} MiB in ${cacheDir}`,
);
