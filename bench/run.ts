/**
 * `npm run bench [-- --quick | --smoke] [--out DIR]`: the benchmarks of docs/BENCHMARKS.md.
 * Every figure is measured beside its baseline in the same run; goals are ratios.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import autocannon from "autocannon";
import Stripe from "stripe";
import { Firestore } from "@google-cloud/firestore";
import { startFirestoreEmulator, startPubSubEmulator, type Emulator } from "../services/local/emulators.js";
import { freePort, waitForHttpOk } from "../services/local/ports.js";
import { buildEvent, buildSession, SCALE_LINE, STRAP_LINE } from "../services/local/stripe-objects.js";
import { startStack } from "../services/local/stack.js";
import { sendTestEvents } from "../services/cli/commands/send-test-event.js";
import { LOCAL } from "../services/local/defaults.js";
import { FirestoreOrderStore } from "../services/fulfiller/adapters/firestore-order-store.js";
import { median, percentile, round, rssMiB, sampleRss, spawnServer } from "./measure.js";
import { measureDuplicateCost } from "./fulfiller-cost.js";

const argv = process.argv.slice(2);
const mode = argv.includes("--smoke") ? "smoke" : argv.includes("--quick") ? "quick" : "full";
const outIndex = argv.indexOf("--out");
const outDir = outIndex >= 0 ? path.resolve(argv[outIndex + 1] ?? "bench") : path.resolve("bench");
const writeDocs = outIndex < 0 && mode !== "smoke";

const PLAN = {
  smoke: {
    latencyEvents: 3,
    replay: 20,
    repeats: 1,
    seconds: 1,
    fixedLoads: [],
    batchMs: [],
    startupRuns: 1,
    orders: 5,
    duplicates: 10,
    noop: false,
    modules: false,
  },
  quick: {
    latencyEvents: 50,
    replay: 500,
    repeats: 1,
    seconds: 4,
    fixedLoads: [300],
    batchMs: [1, 5, 10],
    startupRuns: 3,
    orders: 40,
    duplicates: 100,
    noop: true,
    modules: true,
  },
  full: {
    latencyEvents: 60,
    replay: 500,
    repeats: 3,
    seconds: 10,
    fixedLoads: [200, 600],
    batchMs: [1, 2, 5, 10],
    startupRuns: 7,
    orders: 200,
    duplicates: 300,
    noop: true,
    modules: true,
  },
}[mode];

const SECRET = "whsec_bench_secret";
/** Compiled output (services and bench servers), inside the repository so node_modules resolves. */
let distDir = "";
const SERVERS = {
  receiver: "bench/servers/receiver.js",
  bare: "bench/servers/bare-http.js",
  express: "bench/servers/express-sample.js",
} as const;
type Variant = keyof typeof SERVERS;

function log(line: string) {
  process.stderr.write(`${line}\n`);
}

/** ~5 KB signed checkout.session.completed bodies, re-signed for each run (the tolerance is 300 s). */
function signedRequests(n = 40) {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, () => {
    const lines = [SCALE_LINE, STRAP_LINE];
    const event = buildEvent({
      type: "checkout.session.completed",
      object: buildSession({ lines, metadata: { order_ref: "x".repeat(900) } }),
    });
    const body = JSON.stringify(event, null, 2);
    return {
      method: "POST" as const,
      path: "/webhooks/stripe",
      headers: {
        "content-type": "application/json",
        "stripe-signature": Stripe.webhooks.generateTestHeaderString({
          payload: body,
          secret: SECRET,
          timestamp: now,
        }),
      },
      body,
    };
  });
}

interface LoadResult {
  variant: string;
  publisher: "emulator" | "noop";
  offered: number | "saturation";
  rps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  rss_peak_mib: number;
  body_bytes: number;
  repeats?: number;
  rps_all?: number[];
}

async function runLoad(
  variant: Variant,
  options: { publisher: "emulator" | "noop"; rate?: number; batchMs?: number; topic: string },
): Promise<LoadResult> {
  const server = await spawnServer(path.join(distDir, SERVERS[variant]), {
    BENCH_TOPIC: options.topic,
    BENCH_SECRET: SECRET,
    BENCH_NOOP: options.publisher === "noop" ? "1" : "0",
    ...(options.batchMs === undefined ? {} : { BENCH_BATCH_MS: String(options.batchMs) }),
  });
  try {
    const requests = signedRequests();
    const url = `http://127.0.0.1:${server.port}`;
    await autocannon({ url, connections: 10, duration: 1, requests }); // warm-up (JIT, connections)
    const rss = sampleRss(server.child.pid!);
    const result = await autocannon({
      url,
      connections: options.rate ? 20 : 32,
      duration: PLAN.seconds,
      requests,
      ...(options.rate ? { overallRate: options.rate } : {}),
    });
    return {
      variant,
      publisher: options.publisher,
      offered: options.rate ?? "saturation",
      rps: round(result.requests.average, 1),
      p50: result.latency.p50,
      p99: result.latency.p99,
      max: result.latency.max,
      errors: result.errors + result.timeouts,
      non2xx: result.non2xx,
      rss_peak_mib: rss.stop(),
      body_bytes: Buffer.byteLength(requests[0]!.body),
    };
  } finally {
    await server.stop();
  }
}

async function measureStartup(distDir: string, emulators: { pubsub: string; firestore: string }) {
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
    PUSH_AUTH: "none",
    LOG_LEVEL: "warn",
  };
  const once = async (args: string[], readyPath: string) => {
    const port = await freePort();
    const started = performance.now();
    const child = spawn(process.execPath, args, { env: { ...env, PORT: String(port) }, stdio: "ignore" });
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
  const out: Record<string, { ready_ms_median: number; rss_at_rest_mib: number; runs: number }> = {};
  for (const [name, args, readyPath] of [
    ["bare_node_http", ["-e", baselineScript], "/"],
    ["receiver", [path.join(distDir, "services/receiver/main.js")], "/ready"],
    ["fulfiller", [path.join(distDir, "services/fulfiller/main.js")], "/ready"],
  ] as const) {
    const runs = [];
    for (let i = 0; i < PLAN.startupRuns; i++) runs.push(await once([...args], readyPath));
    out[name] = {
      ready_ms_median: round(median(runs.map((r) => r.ms)), 1),
      rss_at_rest_mib: round(median(runs.map((r) => r.rss)), 1),
      runs: runs.length,
    };
  }
  return out;
}

async function measurePipeline(emulators: { pubsub: string; firestore: string }) {
  const stack = await startStack({
    emulators: { pubsubHost: emulators.pubsub, firestoreHost: emulators.firestore },
    project: "bench-project",
    ports: { receiver: 0, fulfiller: 0, sendgrid: 0, stripe: 0 },
    namePrefix: `bench-${Date.now()}-`,
    env: { LOG_LEVEL: "warn" },
  });
  const db = new Firestore({ projectId: "bench-project" });
  const store = new FirestoreOrderStore(db);
  try {
    const started = performance.now();
    const batches = [];
    const perBatch = Math.ceil(PLAN.orders / 8);
    for (let b = 0; b < 8; b++) {
      batches.push(
        sendTestEvents({
          url: `${stack.receiverUrl}/webhooks/stripe`,
          secret: LOCAL.webhookSecret,
          scenario: "paid",
          scale: true,
          count: Math.max(0, Math.min(perBatch, PLAN.orders - b * perBatch)),
          duplicates: 1,
          stripeAdmin: stack.stripe!.url,
        }),
      );
    }
    const sent = (await Promise.all(batches)).flat();
    const postedAt = performance.now();
    const latencies: number[] = [];
    const pending = new Set(sent.map((s) => s.session_id));
    const deadline = Date.now() + 120_000;
    while (pending.size && Date.now() < deadline) {
      for (const email of stack.sendgrid.emails) {
        const id = email.customArgs.order_id;
        if (id && pending.delete(id)) latencies.push(performance.now() - started);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = (performance.now() - started) / 1000;
    const fulfilled = (await Promise.all(sent.map((s) => store.get(s.session_id)))).filter(
      (o) => o?.status === "fulfilled",
    ).length;

    // Webhook-to-email latency, one event at a time (no queueing behind other orders).
    const single: number[] = [];
    for (let i = 0; i < PLAN.latencyEvents; i++) {
      const postedAt = Date.now();
      const [one] = await sendTestEvents({
        url: `${stack.receiverUrl}/webhooks/stripe`,
        secret: LOCAL.webhookSecret,
        scenario: "paid",
        scale: true,
        count: 1,
        duplicates: 1,
        stripeAdmin: stack.stripe!.url,
      });
      const until = Date.now() + 20_000;
      let email = stack.sendgrid.emailsFor(one!.session_id)[0];
      while (!email && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 5));
        email = stack.sendgrid.emailsFor(one!.session_id)[0];
      }
      if (email) single.push(email.receivedAt - postedAt);
    }
    return {
      orders: sent.length,
      fulfilled,
      emails: stack.sendgrid.emails.length,
      seconds: round(elapsed, 2),
      orders_per_second: round(fulfilled / elapsed, 1),
      post_seconds: round((postedAt - started) / 1000, 2),
      note: "the emulator pushes about two requests at a time (DESIGN section 7): this bounds the local figure, not production's",
      completion_ms_p50: round(percentile(latencies, 50), 0),
      completion_ms_p95: round(percentile(latencies, 95), 0),
      webhook_to_email: {
        events: single.length,
        ms_p50: single.length ? round(percentile(single, 50), 0) : null,
        ms_p95: single.length ? round(percentile(single, 95), 0) : null,
        ms_max: single.length ? Math.max(...single) : null,
      },
    };
  } finally {
    await stack.stop();
    await db.terminate();
  }
}

/** `dlq replay --all` throughput: N dead letters republished, each acknowledged after its publish. */
async function measureReplay(n: number) {
  const { PubSub } = await import("@google-cloud/pubsub");
  const { PubSubPublisher } = await import("../services/common/pubsub.js");
  const { DeadLetterSubscription } = await import("../services/cli/dead-letters.js");
  const { replayDeadLetters } = await import("../services/cli/commands/dlq.js");
  const pubsub = new PubSub({ projectId: "bench-project" });
  const stamp = Date.now();
  const [dlqTopic] = await pubsub.createTopic(`bench-dlq-${stamp}`);
  await dlqTopic.createSubscription(`bench-dlq-${stamp}-sub`);
  const [mainTopic] = await pubsub.createTopic(`bench-main-${stamp}`);

  const body = Buffer.from(
    JSON.stringify(buildEvent({ type: "checkout.session.completed", object: buildSession() })),
  );
  await Promise.all(
    Array.from({ length: n }, (_, i) =>
      dlqTopic.publishMessage({
        data: body,
        attributes: { event_id: `evt_${i}`, dead_letter_reason: "bench" },
      }),
    ),
  );
  const dlq = new DeadLetterSubscription(pubsub, `bench-dlq-${stamp}-sub`);
  const publisher = new PubSubPublisher(pubsub, mainTopic.name, { timeoutMs: 10_000 });
  const started = performance.now();
  const result = await replayDeadLetters({ dlq, publisher }, { all: true, limit: n });
  const seconds = (performance.now() - started) / 1000;
  await publisher.close();
  await dlq.close();
  await pubsub.close();
  return {
    messages: n,
    replayed: result.replayed.length,
    failed: result.failed.length,
    seconds: round(seconds, 2),
    per_second: round(result.replayed.length / seconds, 1),
  };
}

function productionModules(): { bytes: number; mib: number; packages: number } | null {
  const dir = mkdtempSync(path.join(os.tmpdir(), "bench-prod-"));
  try {
    cpSync("package.json", path.join(dir, "package.json"));
    cpSync("package-lock.json", path.join(dir, "package-lock.json"));
    const install = spawnSync("npm", ["ci", "--omit=dev", "--ignore-scripts", "--no-audit", "--no-fund"], {
      cwd: dir,
      encoding: "utf8",
    });
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

async function main() {
  const startedAt = Date.now();
  log(`bench (${mode}) on ${os.cpus().length} cores, node ${process.version}`);
  const emulators: Emulator[] = await Promise.all([
    startPubSubEmulator({ project: "bench-project" }),
    startFirestoreEmulator(),
  ]);
  const [ps, fs] = emulators as [Emulator, Emulator];
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void Promise.all(emulators.map((e) => e.stop())).finally(() => process.exit(130));
    });
  }
  process.env.PUBSUB_EMULATOR_HOST = ps.host;
  process.env.FIRESTORE_EMULATOR_HOST = fs.host;
  process.env.METADATA_SERVER_DETECTION = "none";
  // Inside the repository, so the compiled code resolves node_modules.
  distDir = mkdtempSync(path.resolve(".bench-dist-"));
  try {
    const { PubSub } = await import("@google-cloud/pubsub");
    const pubsub = new PubSub({ projectId: "bench-project" });
    const topic = `bench-events-${Date.now()}`;
    await pubsub.createTopic(topic);
    await pubsub.close();

    log("compiling the services and the benchmark servers…");
    execFileSync(process.execPath, [
      "node_modules/typescript/bin/tsc",
      "-p",
      "tsconfig.bench.json",
      "--outDir",
      distDir,
    ]);

    // Receiver: interleaved per load level, rotating which variant goes first.
    const loads: LoadResult[] = [];
    const levels: (number | undefined)[] = [...PLAN.fixedLoads, undefined];
    const variants: Variant[] = ["receiver", "bare", "express"];
    let turn = 0;
    const interleaved = async (publisher: "emulator" | "noop", rate: number | undefined) => {
      const runs: LoadResult[] = [];
      for (let r = 0; r < (rate ? 1 : PLAN.repeats); r++, turn++) {
        const order = variants.map((_, k) => variants[(k + turn) % variants.length]!);
        for (const variant of order) {
          log(
            `receiver load: ${variant} at ${rate ?? "saturation"} (${publisher} publisher), round ${r + 1}…`,
          );
          runs.push(await runLoad(variant, { publisher, rate, topic }));
        }
      }
      // Repeated saturation runs: keep each variant's median run by throughput.
      for (const variant of variants) {
        const mine = runs.filter((l) => l.variant === variant).sort((a, b) => a.rps - b.rps);
        loads.push({
          ...mine[Math.floor(mine.length / 2)]!,
          repeats: mine.length,
          rps_all: mine.map((l) => l.rps),
        });
      }
    };
    for (const rate of levels) await interleaved("emulator", rate);
    if (PLAN.noop) await interleaved("noop", undefined);
    const batching = [];
    for (const batchMs of PLAN.batchMs) {
      log(`publisher batching: maxMilliseconds=${batchMs}…`);
      const r = await runLoad("receiver", { publisher: "emulator", batchMs, topic });
      batching.push({ max_batch_ms: batchMs, rps: r.rps, p50: r.p50, p99: r.p99 });
    }

    log("fulfiller: end-to-end orders through the emulators…");
    const pipeline = await measurePipeline({ pubsub: ps.host, firestore: fs.host });
    log(`dlq replay of ${PLAN.replay} messages…`);
    const replay = await measureReplay(PLAN.replay);
    log("fulfiller: cost of a duplicate…");
    const duplicate = await measureDuplicateCost(PLAN.duplicates);
    log("start-up and memory…");
    const startup = await measureStartup(distDir, { pubsub: ps.host, firestore: fs.host });
    const modules = PLAN.modules ? (log("production node_modules size…"), productionModules()) : null;

    const sat = (variant: Variant, publisher: "emulator" | "noop") =>
      loads.find((l) => l.variant === variant && l.publisher === publisher && l.offered === "saturation");
    const ratio = (a?: LoadResult, b?: LoadResult) => (a && b && b.rps > 0 ? round(a.rps / b.rps, 3) : null);
    const ratios = {
      receiver_vs_bare_http: ratio(sat("receiver", "emulator"), sat("bare", "emulator")),
      receiver_vs_express_sample: ratio(sat("receiver", "emulator"), sat("express", "emulator")),
      receiver_vs_bare_http_noop_publisher: ratio(sat("receiver", "noop"), sat("bare", "noop")),
      receiver_vs_express_sample_noop_publisher: ratio(sat("receiver", "noop"), sat("express", "noop")),
      duplicate_vs_first_delivery_time:
        duplicate.first_delivery_ms > 0
          ? round(duplicate.duplicate_ms_mean / duplicate.first_delivery_ms, 3)
          : null,
    };
    const goals = {
      receiver_at_least_0_8_of_bare: (ratios.receiver_vs_bare_http ?? 0) >= 0.8,
      receiver_beats_express_sample: (ratios.receiver_vs_express_sample ?? 0) > 1,
      receiver_ready_under_500ms: (startup.receiver?.ready_ms_median ?? Infinity) < 500,
      fulfiller_ready_under_500ms: (startup.fulfiller?.ready_ms_median ?? Infinity) < 500,
      receiver_rss_under_150mib: (startup.receiver?.rss_at_rest_mib ?? Infinity) < 150,
      fulfiller_rss_under_150mib: (startup.fulfiller?.rss_at_rest_mib ?? Infinity) < 150,
      duplicate_is_one_transaction_no_calls:
        duplicate.firestore_transactions_per_duplicate === 1 &&
        duplicate.stripe_calls_per_duplicate === 0 &&
        duplicate.sendgrid_calls_per_duplicate === 0,
    };
    const results = {
      date: new Date().toISOString(),
      mode,
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? "unknown",
        memory_gib: round(os.totalmem() / 2 ** 30, 1),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      ratios,
      goals,
      receiver: { body_bytes: loads[0]?.body_bytes ?? 0, seconds_per_run: PLAN.seconds, runs: loads },
      publisher_batching: batching,
      fulfiller: { pipeline, duplicate },
      dlq_replay: replay,
      startup,
      production_node_modules: modules,
      duration_seconds: round((Date.now() - startedAt) / 1000, 1),
    };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    const table = renderTable(results);
    console.log(table);
    if (writeDocs) writeFileSync("docs/BENCHMARKS.md", renderDoc(results, table));
    log(
      `results written to ${path.join(outDir, "results.json")}${writeDocs ? " and docs/BENCHMARKS.md" : ""}`,
    );
  } finally {
    await Promise.all(emulators.map((e) => e.stop()));
    rmSync(distDir, { recursive: true, force: true });
  }
}

type Results = Record<string, unknown> & {
  ratios: Record<string, number | null>;
  goals: Record<string, boolean>;
  receiver: { runs: LoadResult[] };
  publisher_batching: { max_batch_ms: number; rps: number; p50: number; p99: number }[];
  fulfiller: {
    pipeline: Awaited<ReturnType<typeof measurePipeline>>;
    duplicate: Awaited<ReturnType<typeof measureDuplicateCost>>;
  };
  dlq_replay: Awaited<ReturnType<typeof measureReplay>>;
  startup: Record<string, { ready_ms_median: number; rss_at_rest_mib: number; runs: number }>;
  production_node_modules: { mib: number; packages: number } | null;
  machine: { cores: number; cpu: string; node: string; memory_gib: number };
  date: string;
  mode: string;
};

function renderTable(r: Results): string {
  const rows = [
    "| server | publisher | offered | req/s | p50 ms | p99 ms | max ms | errors | non-2xx | peak RSS MiB |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...r.receiver.runs.map(
      (l) =>
        `| ${l.variant} | ${l.publisher} | ${l.offered} | ${l.rps} | ${l.p50} | ${l.p99} | ${l.max} | ${l.errors} | ${l.non2xx} | ${l.rss_peak_mib} |`,
    ),
    "",
    "| ratio | value |",
    "|---|---|",
    ...Object.entries(r.ratios).map(([k, v]) => `| ${k} | ${v ?? "n/a"} |`),
    "",
    "| goal | met |",
    "|---|---|",
    ...Object.entries(r.goals).map(([k, v]) => `| ${k} | ${v ? "yes" : "NO"} |`),
    "",
    "| start-up (median) | ready ms | RSS at rest MiB |",
    "|---|---|---|",
    ...Object.entries(r.startup).map(([k, v]) => `| ${k} | ${v.ready_ms_median} | ${v.rss_at_rest_mib} |`),
    "",
    "| fulfiller | value |",
    "|---|---|",
    `| end-to-end orders/s (emulator push) | ${r.fulfiller.pipeline.orders_per_second} (${r.fulfiller.pipeline.fulfilled}/${r.fulfiller.pipeline.orders} in ${r.fulfiller.pipeline.seconds} s) |`,
    `| order completion p50 / p95 from first post | ${r.fulfiller.pipeline.completion_ms_p50} / ${r.fulfiller.pipeline.completion_ms_p95} ms |`,
    `| webhook-to-email latency, one at a time (p50 / p95 / max of ${r.fulfiller.pipeline.webhook_to_email.events}) | ${r.fulfiller.pipeline.webhook_to_email.ms_p50} / ${r.fulfiller.pipeline.webhook_to_email.ms_p95} / ${r.fulfiller.pipeline.webhook_to_email.ms_max} ms |`,
    `| dlq replay --all of ${r.dlq_replay.messages} | ${r.dlq_replay.replayed} replayed, ${r.dlq_replay.failed} failed in ${r.dlq_replay.seconds} s (${r.dlq_replay.per_second}/s) |`,
    `| first delivery (fulfil + email), mean | ${r.fulfiller.duplicate.first_delivery_ms} ms |`,
    `| duplicate delivery, mean / p99 | ${r.fulfiller.duplicate.duplicate_ms_mean} / ${r.fulfiller.duplicate.duplicate_ms_p99} ms |`,
    `| per duplicate: Firestore transactions / reads / Stripe / SendGrid | ${r.fulfiller.duplicate.firestore_transactions_per_duplicate} / ${r.fulfiller.duplicate.firestore_other_ops_per_duplicate} / ${r.fulfiller.duplicate.stripe_calls_per_duplicate} / ${r.fulfiller.duplicate.sendgrid_calls_per_duplicate} |`,
    ...(r.publisher_batching.length
      ? [
          "",
          "| publisher maxMilliseconds | req/s | p50 ms | p99 ms |",
          "|---|---|---|---|",
          ...r.publisher_batching.map((b) => `| ${b.max_batch_ms} | ${b.rps} | ${b.p50} | ${b.p99} |`),
        ]
      : []),
    ...(r.production_node_modules
      ? [
          "",
          `production node_modules: ${r.production_node_modules.mib} MiB, ${r.production_node_modules.packages} package.json files`,
        ]
      : []),
  ];
  return rows.join("\n");
}

function renderDoc(r: Results, table: string): string {
  return `# Benchmarks

Written by \`npm run bench${r.mode === "quick" ? " -- --quick" : ""}\` on ${r.date.slice(0, 10)}: ${r.machine.cores} cores (${r.machine.cpu}), ${r.machine.memory_gib} GiB, Node ${r.machine.node}.
Every figure stands beside its baseline from the same run; absolute numbers on a shared
2-core machine are noise, ratios are the result. The load generator (autocannon) runs on
the same two cores as the server under test and the emulator, so every variant pays the
same tax. Raw figures: \`bench/results.json\` (not committed; regenerate it).

## What is measured

- **Receiver**: signed ~${(r.receiver.runs[0]?.body_bytes ?? 0) / 1000} KB \`checkout.session.completed\` bodies at fixed
  offered loads and at saturation (32 connections), against
  (a) the receiver as shipped (\`createApp\` + \`PubSubPublisher\` + \`serve\`, one log line per
  request at info, as in production),
  (b) a bare \`node:http\` handler doing the same raw-body read, \`constructEvent\` and awaited
  publish through the same publisher settings as (a), and
  (c) the shape of Stripe's sample (Express, \`express.raw\`, \`constructEvent\`, an awaited
  \`topic.publishMessage\` with the client's defaults, as a sample deploys it).
  Each runs compiled, in its own process, publishing to the same Pub/Sub emulator topic,
  in turn and interleaved (saturation runs repeated ${r.receiver.runs[0]?.repeats ?? 1}x, median kept). The same
  again with a no-op publisher separates each server's own cost from the publish.
- **Fulfiller**: orders end to end (receiver → emulator push → fulfiller → Stripe and SendGrid
  stand-ins), webhook-to-email latency one event at a time, and the cost of a duplicate
  delivery, with Firestore operations and outside calls counted by wrapping the real adapters.
- **Operator CLI**: \`dlq replay --all\` throughput on the emulator.
- **Start-up**: process start to \`/ready\` answering 200 from the compiled \`dist/\` with plain
  configuration (no Secret Manager), median of ${r.startup.receiver?.runs ?? 0} runs, beside a bare \`node:http\`
  server's start; RSS 1 s after ready. RSS under load is the peak during the saturation runs.

## Results

${table}

## Reading

- **What dominates the receiver's cost is the publish.** With the emulator, every variant
  spends most of each request waiting for Pub/Sub; with a no-op publisher the three are
  within a few percent of each other (HMAC-SHA256 over ~5 KB and one JSON parse are the
  same work in all three; Koa's middleware, routing and the structured log line cost about
  what Express's body parser and router do).
- **Publisher batching is the lever.** Each publish is awaited by an HTTP request, so the
  client's batching window (\`maxMilliseconds\`, 10 ms by default) is added to every request,
  and with a fixed number of connections it caps throughput at about connections / window.
  The table above measures it; the receiver uses 1 ms with up to 100 messages per batch,
  which still batches requests that arrive together. This is most of the difference
  against (c), which keeps the client's defaults as Stripe's sample does.
- **Start-up** is module loading (the Google client libraries and gRPC) more than anything
  the services do; both stay well under 500 ms and 150 MiB at rest.
- **The fulfiller** spends a first delivery on one claim transaction, two Stripe reads
  (session, line items), two or three Firestore writes and the SendGrid call; a duplicate
  is one transaction and nothing else. The local end-to-end figure is bounded by the
  emulator's push loop (about two requests in flight), not by the fulfiller.
- **Scaling**: the receiver is stateless, so instances add throughput linearly up to
  Pub/Sub's publish quota. The fulfiller serialises work per order only (one Firestore
  document per session), so orders proceed in parallel across instances; the practical
  limit is Stripe's API rate limit (100 read requests/s in live mode by default): at two to
  three Stripe calls per order, about 30 to 50 orders/s per account before 429s, which the
  fulfiller treats as transient (redelivery with backoff).
`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
