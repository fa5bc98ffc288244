import { expect } from "chai";
import { readyPort, trackChild } from "../support/log-registry.js";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { waitForHttpOk } from "../../services/local/ports.js";
import { requireEmulators } from "../support/emulator-state.js";

describe("e2e: the built dist/ starts both services with production dependencies only", function () {
  this.timeout(240_000);
  const CACHE = ".compile-cache";
  let dir: string;
  let warm: SpawnSyncReturns<string>;

  before(function () {
    requireEmulators(this);
    dir = mkdtempSync(path.join(tmpdir(), "prod-"));
    // As the Dockerfile's build stage does: only what it copies, compiled there.
    const source = path.join(dir, "source");
    for (const file of buildStageCopies()) cpSync(file, path.join(source, file), { recursive: true });
    symlinkSync(path.resolve("node_modules"), path.join(source, "node_modules"));
    const tsc = spawnSync(
      process.execPath,
      [
        path.resolve("node_modules/typescript/bin/tsc"),
        "-p",
        path.join(source, "tsconfig.build.json"),
        "--outDir",
        path.join(dir, "dist"),
      ],
      { encoding: "utf8" },
    );
    expect(tsc.status, tsc.stdout + tsc.stderr).to.equal(0);
    cpSync("package.json", path.join(dir, "package.json"));
    cpSync("package-lock.json", path.join(dir, "package-lock.json"));
    // As the Dockerfile does: production dependencies only (--omit=optional too: valibot's
    // optional peer, TypeScript, stays under --omit=dev alone), no install scripts.
    const install = spawnSync(
      "npm",
      ["ci", "--omit=dev", "--omit=optional", "--ignore-scripts", "--no-audit", "--no-fund"],
      {
        cwd: dir,
        encoding: "utf8",
      },
    );
    expect(install.status, install.stderr).to.equal(0);
    // As the Dockerfile does next: fill Node's compile cache by starting each service once.
    mkdirSync(path.join(dir, "scripts"));
    cpSync("scripts/warm-compile-cache.mjs", path.join(dir, "scripts/warm-compile-cache.mjs"));
    warm = spawnSync(process.execPath, ["scripts/warm-compile-cache.mjs"], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_COMPILE_CACHE: path.join(dir, CACHE) },
      encoding: "utf8",
    });
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("when the image is built, then its build stage copies no test/ file and the services compile from what it copies", () => {
    const copies = buildStageCopies();
    expect(copies).to.include("services");
    expect(copies.filter((c) => c.startsWith("test"))).to.deep.equal([]);
    expect(existsSync(path.join(dir, "dist/services/local/stripe/fixtures/checkout_session.json"))).to.equal(
      true,
    );
  });

  it("when installed with --omit=dev, then no dev dependency is present", () => {
    // @sendgrid/eventwebhook only checks our node:crypto verifier in a test.
    for (const devOnly of ["mocha", "typescript", "tsx", "eslint", "node", "@sendgrid/eventwebhook"]) {
      expect(existsSync(path.join(dir, "node_modules", devOnly)), devOnly).to.equal(false);
    }
  });

  it("when the image's warm-up step runs, then Node's compile cache holds both services' code", () => {
    expect(warm.status, warm.stdout + warm.stderr).to.equal(0);
    expect(warm.stdout).to.match(/warm-compile-cache: \d+ compiled files/);
    const [versionDir, ...others] = readdirSync(path.join(dir, CACHE));
    expect(others, "one cache for this Node and user").to.deep.equal([]);
    expect(readdirSync(path.join(dir, CACHE, versionDir!)).length).to.be.above(500);
  });

  for (const service of ["receiver", "fulfiller"] as const) {
    // The library that weighs most on each service's start: the receiver publishes every
    // event; the fulfiller claims in Firestore and loads Pub/Sub only for a dead letter.
    const library = service === "receiver" ? "@google-cloud/pubsub" : "@google-cloud/firestore";
    it(`when the ${service} starts with the warmed cache, then ${library} is read from it, not compiled`, async () => {
      // NODE_DEBUG_NATIVE=COMPILE_CACHE makes Node say, per file, whether the cached code was accepted.
      const child = spawn(process.execPath, [path.join(dir, `dist/services/${service}/main.js`)], {
        cwd: dir,
        env: {
          ...productionEnv(),
          NODE_COMPILE_CACHE: path.join(dir, CACHE),
          NODE_DEBUG_NATIVE: "COMPILE_CACHE",
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let debug = "";
      child.stderr.on("data", (c: Buffer) => (debug += c.toString()));
      let stdout = "";
      child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      try {
        const port = await readyPort(service, () => stdout, exited);
        await waitForHttpOk(`http://127.0.0.1:${port}/ready`, { timeoutMs: 20_000 });
        child.kill("SIGTERM");
        expect(await exited, stdout + debug.slice(-2000)).to.equal(0);
      } finally {
        child.kill("SIGKILL");
      }
      const verdict = (file: string) =>
        new RegExp(`V8 code cache for \\w+ \\S*/${file.replace(/[/.]/g, "\\$&")} was (\\w+)`).exec(
          debug,
        )?.[1];
      expect(verdict(`node_modules/${library}/build/src/index.js`)).to.equal("accepted");
      // What only a rarer path needs is loaded when that path is taken, not at start-up.
      if (service === "fulfiller")
        expect(debug, "Pub/Sub loaded at start-up").not.to.include("@google-cloud/pubsub/");
      expect(verdict(`dist/services/${service}/main.js`)).to.equal("accepted");
      expect(debug).not.to.match(/was rejected/);
    });

    it(`when the ${service} starts from dist/, then /ready answers and SIGTERM exits 0`, async () => {
      const child = spawn(process.execPath, [path.join(dir, `dist/services/${service}/main.js`)], {
        cwd: dir,
        env: productionEnv(),
        stdio: ["ignore", "pipe", "pipe"],
      });
      const output = trackChild(`dist-${service}`, child);
      const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
      try {
        const port = await readyPort(service, output, exited);
        await waitForHttpOk(`http://127.0.0.1:${port}/ready`, { timeoutMs: 20_000 });
        child.kill("SIGTERM");
        expect(await exited, output()).to.equal(0);
        expect(output()).to.include(`${service} ready`);
      } finally {
        child.kill("SIGKILL");
      }
    });
  }
});

/** Plain configuration values, as Cloud Run would pass them (no Secret Manager). */
function productionEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    PORT: "0",
    GOOGLE_CLOUD_PROJECT: "prod-check",
    PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST,
    FIRESTORE_EMULATOR_HOST: process.env.FIRESTORE_EMULATOR_HOST,
    METADATA_SERVER_DETECTION: "none",
    STRIPE_WEBHOOK_SECRET: "whsec_prod_check_0123456789",
    STRIPE_API_KEY: "sk_test_prod_check",
    SENDGRID_API_KEY: "SG.prod-check",
    EMAIL_FROM: "orders@example.com",
    FULFILMENT_EMAIL_TO: "ship@example.com",
    PUSH_AUDIENCE: "aud",
    PUSH_SERVICE_ACCOUNT: "push@prod-check.iam.gserviceaccount.com",
  };
}

/** The sources of the Dockerfile's build stage's `COPY` lines (up to the second `FROM`). */
function buildStageCopies(): string[] {
  const stages = readFileSync("Dockerfile", "utf8").split(/^FROM /m);
  const build = stages[1] ?? "";
  return [...build.matchAll(/^COPY (?!--from)(.+)$/gm)].flatMap((m) =>
    m[1]!.trim().split(/\s+/).slice(0, -1),
  );
}
