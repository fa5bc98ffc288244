import { expect } from "chai";
import { trackChild } from "../support/log-registry.js";
import { runCli } from "../support/cli.js";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { existsSync, readFileSync } from "node:fs";
import { readLocalState } from "../../services/local/state-file.js";
import { LOCAL } from "../../services/local/defaults.js";
import { isListening } from "../../services/local/ports.js";
import { requireEmulators } from "../support/emulator-state.js";
import { waitFor } from "../support/wait.js";

describe("e2e: `npm start` smoke test", function () {
  this.timeout(120_000);

  it("when started, then a newcomer's CLI commands reach it with nothing set by hand, an email file appears, and Ctrl-C leaves nothing running", async function () {
    requireEmulators(this); // needs gcloud's emulators, which it starts itself
    const outbox = await mkdtemp(path.join(tmpdir(), "outbox-"));
    const stateFile = path.join(outbox, "stack.json");
    const child = spawn("npm", ["start", "--silent"], {
      env: {
        ...process.env,
        LOCAL_STACK_PORTS: "auto",
        LOCAL_OUTBOX_DIR: outbox,
        LOCAL_STATE_FILE: stateFile,
        PUBSUB_EMULATOR_HOST: "",
        FIRESTORE_EMULATOR_HOST: "",
      },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const output = trackChild("npm-start", child);
    const exited = new Promise<string>((resolve) =>
      child.once("exit", (code, signal) => resolve(`${code ?? signal}`)),
    );
    try {
      await waitFor("the stack to be ready", () => /ready in [\d.]+ s/.test(output()), 90_000, 200);
      const url = (name: string) => new RegExp(`${name}\\s+(http://[\\d.:]+)`).exec(output())?.[1];
      const receiver = url("receiver")!;
      const stripe = url("stripe")!;
      const ports = [...output().matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(receiver).to.match(/^http:/);

      // The newcomer's path: the CLI with nothing but PATH set finds the stack by its state file.
      const state = readLocalState(stateFile);
      expect(state?.env.GOOGLE_CLOUD_PROJECT).to.equal(LOCAL.project);
      expect(state?.urls.receiver).to.equal(receiver);
      expect(state?.urls.stripe).to.equal(stripe);
      expect(output()).to.not.include(LOCAL.webhookSecret);
      const newcomer = {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        LOCAL_STATE_FILE: stateFile,
      };
      const send = await runCli(["send-test-event", "--json"], newcomer);
      expect(send.code, send.stderr).to.equal(0);
      expect(send.stderr).to.include("using the local stack started by npm start");
      const [sent] = JSON.parse(send.stdout) as { session_id: string; statuses: number[] }[];
      expect(sent!.statuses).to.deep.equal([200]);
      const eml = await waitFor(
        "an .eml in the outbox",
        async () => (await readdir(outbox)).find((f) => f.endsWith(".eml")),
        30_000,
      );
      const content = await readFile(path.join(outbox, eml), "utf8");
      const reference = sent!.session_id.slice(-8);
      expect(content).to.include(sent!.session_id);
      expect(content).to.include(`Subject: [TEST] Order ${reference} to ship`);
      expect(content).to.match(/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\n/);
      expect(eml).to.match(new RegExp(`-${reference}\\.eml$`));
      // The demo order is the documented sample (docs/EMAILS.md's first case): the same
      // shipping method, item lines (pounds, the cover's SKU) and totals.
      const sample = readFileSync("docs/EMAILS.md", "utf8").split("```text\n")[1]!.split("```")[0]!;
      const sampleLines = sample
        .split("\n")
        .filter((line) => /^(Shipping method:| {2}\d+ x | {6}|Subtotal:|Shipping:|Total:)/.test(line));
      expect(sampleLines).to.have.length.greaterThan(6);
      for (const line of sampleLines) expect(content, line).to.include(line);
      await waitFor("the order to be recorded fulfilled", async () => {
        const run = await runCli(["orders", "show", sent!.session_id], newcomer);
        return run.code === 0 && run.stdout.includes('"status": "fulfilled"');
      });
      // The warehouse's step (DESIGN 5b): the link `npm start` printed beside the email,
      // the form sent as a browser sends it, and `orders show` has the tracking number.
      const link = await waitFor(
        "the printed dispatch link",
        () => /dispatch link \(open it, record a tracking number\): (http:\/\/\S+)/.exec(output())?.[1],
        10_000,
      );
      expect(content).to.include(link);
      expect((await fetch(link)).status).to.equal(200);
      const recorded = await fetch(link, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ carrier: "Royal Mail", tracking_number: "RM123456785GB" }).toString(),
      });
      expect(recorded.status).to.equal(200);
      await waitFor("the dispatch on the order", async () => {
        const run = await runCli(["orders", "show", sent!.session_id], newcomer);
        return run.code === 0 && run.stdout.includes('"tracking_number": "RM123456785GB"');
      });
      const list = await runCli(["orders", "list"], newcomer);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.include(sent!.session_id); // whole, copyable into `orders show`
      const dlq = await runCli(["dlq", "list"], newcomer);
      expect(dlq.code, dlq.stderr).to.equal(0);
      expect(dlq.stdout.trim()).to.equal("the dead-letter subscription is empty");
      expect(dlq.stderr).to.not.include("empty");
      const doctor = await runCli(["doctor", "--local"], newcomer);
      expect(doctor.code, doctor.stdout + doctor.stderr).to.equal(0);
      expect(doctor.stdout).to.match(/^doctor: all \d+ checks passed, 4 skipped$/m);
      expect(`${send.stderr}${list.stderr}${dlq.stderr}${doctor.stderr}${output()}`).to.not.include(
        "MetadataLookupWarning",
      );

      // Ctrl-C: the terminal signals the whole foreground group (npm and the stack).
      process.kill(-child.pid!, "SIGINT");
      expect(await exited).to.be.oneOf(["0", "SIGINT", "130"]);
      await waitFor("the stack's own shutdown to finish", () => output().includes("stopped"), 15_000);
      expect(output()).to.include("stopped");
      for (const port of new Set(ports))
        expect(await isListening(port), `port ${port} still bound`).to.equal(false);
      expect(existsSync(stateFile), "the state file is removed on exit").to.equal(false);
      // Each service drained, then completed (by the services' own clocks: the relay of two
      // pipes through npm may interleave lines a few milliseconds apart).
      for (const service of ["receiver", "fulfiller"]) {
        const times = (text: string) =>
          output()
            .split("\n")
            .filter((l) => l.startsWith(service) && l.includes(text))
            .map((l) => Date.parse((JSON.parse(l.slice(l.indexOf("{"))) as { time: string }).time));
        const [draining] = times("shutting down: draining");
        const [complete] = times("shutdown complete");
        expect(draining, `${service} drains`).to.be.a("number");
        expect(complete, `${service} completes after draining`).to.be.at.least(draining!);
      }
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
});
