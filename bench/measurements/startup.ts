/**
 * Start-up (DESIGN section 10): process start to `/ready` as the image runs each service
 * (the compile cache warmed) and without the cache, beside the floor each stands on (a bare
 * server once it has built the Google client `/ready` waits for), runs alternating; RSS at rest.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { buildSync } from "esbuild";
import { freePort, waitForHttpOk } from "../../services/local/ports.js";
import { rssMiB } from "../measure.js";
import { SECRET, type Plan } from "../plan.js";
import { median, pairedSummary, round, type RatioSummary } from "../ratios.js";

export async function measureStartup(
  distDir: string,
  plan: Plan,
  emulators: { pubsub: string; firestore: string },
) {
  const env = {
    PATH: process.env.PATH ?? "",
    GOOGLE_CLOUD_PROJECT: "bench-project",
    PUBSUB_EMULATOR_HOST: emulators.pubsub,
    FIRESTORE_EMULATOR_HOST: emulators.firestore,
    METADATA_SERVER_DETECTION: "none",
    STRIPE_WEBHOOK_SECRET: SECRET,
    STRIPE_API_KEY: "sk_test_bench",
    SENDGRID_API_KEY: "SG.bench",
    EMAIL_FROM: "orders@example.com",
    FULFILMENT_EMAIL_TO: "ship@example.com",
    // As Cloud Run runs them: K_SERVICE set, so spans go to Cloud Trace (its exporter is
    // loaded at start-up), and the fulfiller checks the forwarded push token (PUSH_AUTH=cloud-run).
    K_SERVICE: "bench",
    OTEL_TRACES_EXPORTER: "gcp",
    PUSH_AUDIENCE: "https://fulfiller.example",
    PUSH_SERVICE_ACCOUNT: "push@bench-project.iam.gserviceaccount.com",
    LOG_LEVEL: "warn",
  };
  const once = async (args: string[], readyPath: string, extra: Record<string, string>) => {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      env: { ...env, ...extra, PORT: String(port) },
      stdio: "ignore",
    });
    await waitForHttpOk(`http://127.0.0.1:${port}${readyPath}`, { timeoutMs: 20_000, intervalMs: 5 });
    const ms = performance.now() - started;
    await new Promise((r) => setTimeout(r, 1000));
    const rss = rssMiB(child.pid!);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    await exited;
    return { ms, rss };
  };
  const baselineScript =
    "require('http').createServer((q,s)=>s.end('ok')).listen(process.env.PORT,'127.0.0.1')";
  // As the image runs: Node's compile cache filled by the Dockerfile's warm-up step.
  const compileCache = mkdtempSync(path.join(os.tmpdir(), "bench-compile-cache-"));
  execFileSync(process.execPath, ["scripts/warm-compile-cache.mjs", "--dist", distDir], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_COMPILE_CACHE: compileCache },
  });
  // The floor each service stands on: the bare server once it has loaded and built the
  // Google client its /ready waits for (DESIGN section 4: "publisher built"), nothing else.
  const withClient = (load: string) => `${load};${baselineScript}`;
  const pubsubFloor = withClient(
    "new (require('@google-cloud/pubsub').PubSub)({projectId:'bench-project'}).topic('bench-events',{batching:{maxMilliseconds:1}})",
  );
  // The same floor as one esbuild bundle: no resolving and opening of the library's ~1,000
  // files, the packaging that saved most in a trial (docs/BENCHMARKS.md, "Tried for
  // start-up"): how far packaging alone could take the floor a receiver stands on.
  const floorSource = path.join(distDir, "pubsub-floor.cjs");
  writeFileSync(floorSource, pubsubFloor);
  const floorBundle = path.join(distDir, "pubsub-floor.bundle.cjs");
  buildSync({
    entryPoints: [floorSource],
    bundle: true,
    platform: "node",
    target: "node24",
    outfile: floorBundle,
    logLevel: "error",
  });
  const clientFloors = [
    ["bare_node_http_with_pubsub_client", ["-e", pubsubFloor], "/", { NODE_COMPILE_CACHE: compileCache }],
    ["bare_node_http_with_pubsub_client_bundled", [floorBundle], "/", { NODE_COMPILE_CACHE: compileCache }],
    [
      "bare_node_http_with_firestore_client",
      [
        "-e",
        withClient(
          "new (require('@google-cloud/firestore').Firestore)({projectId:'bench-project'}).collection('orders')",
        ),
      ],
      "/",
      { NODE_COMPILE_CACHE: compileCache },
    ],
  ] as const;
  const variants = [
    ["bare_node_http", ["-e", baselineScript], "/", {}],
    ...clientFloors,
    ...(["receiver", "fulfiller"] as const).flatMap((service) => {
      const args = [path.join(distDir, `services/${service}/main.js`)];
      return [
        [service, args, "/ready", { NODE_COMPILE_CACHE: compileCache }],
        [`${service}_no_compile_cache`, args, "/ready", {}],
      ] as const;
    }),
  ] as const;
  const runs = new Map<string, { ms: number; rss: number }[]>(variants.map(([name]) => [name, []]));
  try {
    // Their first start fills the cache for the client's modules, as the warm-up did for the services.
    for (const [, args, readyPath, extra] of clientFloors) await once([...args], readyPath, extra);
    // Alternating, so that a slow stretch of the machine falls on every variant alike.
    for (let i = 0; i < plan.startupRuns; i++) {
      for (const [name, args, readyPath, extra] of variants) {
        runs.get(name)!.push(await once([...args], readyPath, extra));
      }
    }
  } finally {
    rmSync(compileCache, { recursive: true, force: true });
  }
  const out: Record<string, { ready_ms_median: number; rss_at_rest_mib: number; runs: number }> = {};
  for (const [name, list] of runs) {
    out[name] = {
      ready_ms_median: round(median(list.map((r) => r.ms)), 1),
      rss_at_rest_mib: round(median(list.map((r) => r.rss)), 1),
      runs: list.length,
    };
  }
  // DESIGN 10: each service against its floor, run by run (the runs alternate), median and spread.
  const versus = (service: string, floor: string): RatioSummary | null =>
    pairedSummary(
      (runs.get(service) ?? []).map((r) => r.ms),
      (runs.get(floor) ?? []).map((r) => r.ms),
    );
  return {
    rows: out,
    ratios: {
      receiver_ready_vs_pubsub_client_floor: versus("receiver", "bare_node_http_with_pubsub_client"),
      fulfiller_ready_vs_firestore_client_floor: versus("fulfiller", "bare_node_http_with_firestore_client"),
    },
  };
}
