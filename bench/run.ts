/**
 * `npm run bench [-- --quick | --smoke] [--out DIR]`: the benchmarks of docs/BENCHMARKS.md.
 * Every figure is measured beside its baseline in the same run; goals are ratios
 * (ratios.ts), each measurement is its own file under measurements/, and the document is
 * rendered from BENCHMARKS.template.md (render-doc.ts).
 * `npm run bench -- --render [--check]`: docs/BENCHMARKS.md again from bench/results.json,
 * measuring nothing (after its prose changes); with --check, only say whether it is current.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startFirestoreEmulator, startPubSubEmulator, type Emulator } from "../services/local/emulators.js";
import { compileBench } from "./measure.js";
import { measureFlashSale } from "./measurements/flash-sale.js";
import { measureForgedPosts } from "./measurements/forged-posts.js";
import { measureDuplicateCost } from "./measurements/fulfiller-cost.js";
import { measureInstructions } from "./measurements/instructions.js";
import { measurePipeline } from "./measurements/pipeline.js";
import { productionModules } from "./measurements/production-modules.js";
import { profileServer } from "./measurements/profile.js";
import { measureReceiver } from "./measurements/receiver-load.js";
import { measureReplay } from "./measurements/replay.js";
import { measureStartup } from "./measurements/startup.js";
import { parseArgs, PLANS } from "./plan.js";
import { round } from "./ratios.js";
import { BENCHMARKS_DOC, renderDoc, renderFromResults } from "./render-doc.js";
import { renderTable } from "./render-table.js";
import { judgeRun, type Results } from "./results.js";

const args = parseArgs(process.argv.slice(2));
const plan = PLANS[args.mode];

function log(line: string) {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<number> {
  if (args.render) return renderFromResults(args.outDir, args.render.check);
  const startedAt = Date.now();
  log(`bench (${args.mode}) on ${os.cpus().length} cores, node ${process.version}`);
  const emulators: Emulator[] = await Promise.all([
    startPubSubEmulator({ project: "bench-project" }),
    startFirestoreEmulator(),
  ]);
  const [ps, fs] = emulators as [Emulator, Emulator];
  const hosts = { pubsub: ps.host, firestore: fs.host };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void Promise.all(emulators.map((e) => e.stop())).finally(() => process.exit(130));
    });
  }
  process.env.PUBSUB_EMULATOR_HOST = ps.host;
  process.env.FIRESTORE_EMULATOR_HOST = fs.host;
  process.env.METADATA_SERVER_DETECTION = "none";
  log("compiling the services and the benchmark servers…");
  const distDir = compileBench();
  try {
    const { PubSub } = await import("@google-cloud/pubsub");
    const pubsub = new PubSub({ projectId: "bench-project" });
    const topic = `bench-events-${Date.now()}`;
    await pubsub.createTopic(topic);
    await pubsub.close();

    const { loads, rounds, batching } = await measureReceiver(distDir, plan, topic, log);
    log("fulfiller: end-to-end orders through the emulators…");
    const pipeline = await measurePipeline(plan, hosts);
    log(`dlq replay of ${plan.replay} messages…`);
    const replay = await measureReplay(plan.replay);
    log("fulfiller: cost of a duplicate…");
    const duplicate = await measureDuplicateCost(plan.duplicates);
    log("start-up and memory…");
    const { rows: startup, ratios: startupRatios } = await measureStartup(distDir, plan, hosts);
    log(
      `fulfiller at Stripe's rate limit: ${plan.sale.orders} orders at ${plan.sale.rate} requests/s, ${plan.sale.rounds} rounds with and without the budget…`,
    );
    const sale = await measureFlashSale(hosts, plan.sale, log);
    log(
      `receiver: CPU per forged SendGrid post against per forged Stripe post, ${plan.forged.rounds} rounds…`,
    );
    const forged = await measureForgedPosts(plan.forged);
    const modules = plan.modules ? (log("production node_modules size…"), productionModules()) : null;
    const instructions = await measureInstructions(distDir, plan, log);
    const profiles = [];
    if (plan.profileSeconds) {
      for (const server of ["receiver", "bare-http"] as const) {
        log(`profile: ${server} at saturation under --cpu-prof…`);
        profiles.push(
          await profileServer(distDir, server, {
            seconds: plan.profileSeconds,
            warmupSeconds: plan.warmup,
            top: 12,
          }),
        );
      }
    }

    const results: Results = {
      date: new Date().toISOString(),
      mode: args.mode,
      machine: {
        cores: os.cpus().length,
        cpu: os.cpus()[0]?.model ?? "unknown",
        memory_gib: round(os.totalmem() / 2 ** 30, 1),
        node: process.version,
        platform: `${os.platform()} ${os.release()}`,
      },
      ...judgeRun({ rounds, lightLoad: plan.lightLoad, forged, startupRatios, startup, sale, duplicate }),
      receiver: {
        body_bytes: loads[0]?.body_bytes ?? 0,
        seconds_per_run: plan.seconds,
        slices_per_run: plan.slices,
        warmup_seconds: plan.warmup,
        light_load: plan.lightLoad,
        rounds: rounds.map(({ runs: _runs, ...r }) => r),
        runs: loads,
      },
      profiles,
      publisher_batching: batching,
      fulfiller: { pipeline, duplicate },
      dlq_replay: replay,
      forged_posts: forged,
      flash_sale: sale,
      startup,
      instructions,
      production_node_modules: modules,
      duration_seconds: round((Date.now() - startedAt) / 1000, 1),
    };
    mkdirSync(args.outDir, { recursive: true });
    writeFileSync(path.join(args.outDir, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    const table = renderTable(results);
    console.log(table);
    if (args.writeDocs) writeFileSync(BENCHMARKS_DOC, await renderDoc(results, table));
    log(
      `results written to ${path.join(args.outDir, "results.json")}${args.writeDocs ? ` and ${BENCHMARKS_DOC}` : ""}`,
    );
    return 0;
  } finally {
    await Promise.all(emulators.map((e) => e.stop()));
    rmSync(distDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
