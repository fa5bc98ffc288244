import { expect } from "chai";
import { trackChild } from "../support/log-registry.js";
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { sendTestEvents } from "../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../services/local/defaults.js";
import { isListening } from "../../services/local/ports.js";
import { requireEmulators } from "../support/emulator-state.js";
import { waitFor } from "../support/wait.js";

describe("e2e: `npm start` smoke test", function () {
  this.timeout(120_000);

  it("when started, sent a test event and stopped, then an email file appears and nothing is left running", async function () {
    requireEmulators(this); // needs gcloud's emulators, which it starts itself
    const outbox = await mkdtemp(path.join(tmpdir(), "outbox-"));
    const child = spawn("npm", ["start", "--silent"], {
      env: {
        ...process.env,
        LOCAL_STACK_PORTS: "auto",
        LOCAL_OUTBOX_DIR: outbox,
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

      const [sent] = await sendTestEvents({
        url: `${receiver}/webhooks/stripe`,
        secret: LOCAL.webhookSecret,
        scenario: "paid",
        scale: true,
        count: 1,
        duplicates: 1,
        stripeAdmin: stripe,
      });
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

      // Ctrl-C: the terminal signals the whole foreground group (npm and the stack).
      process.kill(-child.pid!, "SIGINT");
      expect(await exited).to.be.oneOf(["0", "SIGINT", "130"]);
      await waitFor("the stack's own shutdown to finish", () => output().includes("stopped"), 15_000);
      expect(output()).to.include("stopped");
      for (const port of new Set(ports))
        expect(await isListening(port), `port ${port} still bound`).to.equal(false);
    } finally {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
});
