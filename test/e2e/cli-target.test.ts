import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Firestore } from "@google-cloud/firestore";
import { writeLocalState, type LocalStackState } from "../../services/local/state-file.js";
import { requireEmulators } from "../support/emulator-state.js";
import { runCli, type CliRun } from "../support/cli.js";
import { seedOrder } from "../support/orders.js";

/** The CLI with only the variables given (no GOOGLE_CLOUD_PROJECT unless set). */
const cli = (args: string[], env: Record<string, string>): Promise<CliRun> =>
  runCli(args, { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env });

describe("e2e: which pipeline the CLI targets, and how it fails", function () {
  this.timeout(120_000);
  let dir: string;
  let stateFile: string;
  let env: ReturnType<typeof requireEmulators>;
  let db: Firestore;
  const sessionId = `cs_test_${"L".repeat(58)}`;

  before(async function () {
    env = requireEmulators(this);
    dir = await mkdtemp(path.join(tmpdir(), "cli-target-"));
    stateFile = path.join(dir, "stack.json");
    db = new Firestore({ projectId: env.project });
    await seedOrder(db, sessionId, "needs_review", { reason: "a long id, printed whole" });
  });
  after(async () => {
    await db?.terminate();
    await rm(dir, { recursive: true, force: true });
  });

  const state = (over: Partial<LocalStackState["env"]> = {}, pid = process.pid): LocalStackState => ({
    pid,
    started_at: new Date().toISOString(),
    env: {
      GOOGLE_CLOUD_PROJECT: env.project,
      PUBSUB_EMULATOR_HOST: env.pubsubHost,
      FIRESTORE_EMULATOR_HOST: env.firestoreHost,
      ...over,
    },
    urls: {
      receiver: "http://127.0.0.1:1",
      fulfiller: "http://127.0.0.1:2",
      sendgrid: "http://127.0.0.1:3",
      stripe: null,
    },
  });

  it("when npm start's state file exists and no GOOGLE_CLOUD_PROJECT is set, then the CLI uses the local stack, says so, and prints whole ids", async () => {
    writeLocalState(stateFile, state());
    const run = await cli(["orders", "list", "--status", "needs_review"], { LOCAL_STATE_FILE: stateFile });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stderr).to.include("using the local stack started by npm start");
    expect(run.stderr).to.not.include("MetadataLookupWarning");
    expect(run.stdout).to.include(sessionId);
  });

  it("when GOOGLE_CLOUD_PROJECT is set, then the environment wins; --local forces the stack again", async () => {
    writeLocalState(stateFile, state());
    const elsewhere = {
      LOCAL_STATE_FILE: stateFile,
      GOOGLE_CLOUD_PROJECT: "another-project",
      FIRESTORE_EMULATOR_HOST: env.firestoreHost,
      PUBSUB_EMULATOR_HOST: env.pubsubHost,
    };
    const set = await cli(["orders", "list", "--json"], elsewhere);
    expect(set.code, set.stderr).to.equal(0);
    expect(set.stderr).to.not.include("using the local stack");
    expect(set.stdout).to.not.include(sessionId); // another project's (empty) orders
    const forced = await cli(["--local", "orders", "list", "--json"], elsewhere);
    expect(forced.code, forced.stderr).to.equal(0);
    expect(forced.stderr).to.include("using the local stack");
    expect(forced.stdout).to.include(sessionId);
    const after = await cli(["orders", "list", "--json", "--local"], elsewhere);
    expect(after.stdout, "--local after the command works too").to.include(sessionId);
  });

  it("when the stack is down, then the CLI says to start it within a few seconds instead of waiting on retries", async () => {
    writeLocalState(
      stateFile,
      state({ FIRESTORE_EMULATOR_HOST: "127.0.0.1:9", PUBSUB_EMULATOR_HOST: "127.0.0.1:9" }),
    );
    const down = await cli(["orders", "list"], { LOCAL_STATE_FILE: stateFile });
    expect(down.code).to.equal(1);
    expect(down.stderr).to.include("the local stack is not running: start it with `npm start`");
    expect(down.ms).to.be.lessThan(6000);

    writeLocalState(stateFile, state({}, 2 ** 22 + 12345)); // a process that does not exist
    const stale = await cli(["--local", "orders", "list"], { LOCAL_STATE_FILE: stateFile });
    expect(stale.code).to.equal(1);
    expect(stale.stderr).to.include("the local stack is not running").and.include("which is gone");
    const ignored = await cli(["orders", "list"], { LOCAL_STATE_FILE: stateFile });
    expect(ignored.code).to.equal(2);
    expect(ignored.stderr).to.include("is no longer running");
    expect(ignored.stderr).to.include(
      "GOOGLE_CLOUD_PROJECT: is required: the project whose Pub/Sub and Firestore to use",
    );
    // A newcomer after the stack stopped: every command that needs a target names both ways forward.
    for (const args of [
      ["orders", "list"],
      ["dlq", "list"],
      ["reconcile", "--since", "1h"],
    ]) {
      const stopped = await cli(args, { LOCAL_STATE_FILE: path.join(dir, "absent.json") });
      expect(stopped.code, args.join(" ")).to.equal(2);
      expect(stopped.stderr).to.include(
        "error: no target: start the local stack with `npm start`, or set GOOGLE_CLOUD_PROJECT for a deployment",
      );
    }

    const none = await cli(["--local", "orders", "list"], {
      LOCAL_STATE_FILE: path.join(dir, "absent.json"),
    });
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include("the local stack is not running: start it with `npm start`");
  });

  it("when the command line is wrong in any way, then exit 2 with commander's message", async () => {
    const offline = { LOCAL_STATE_FILE: path.join(dir, "absent.json") };
    const cases: [string[], string][] = [
      [["no-such-command"], "unknown command"],
      [["orders", "show"], "missing required argument"],
      [["dlq", "purge"], "required option '--older-than <duration>' not specified"],
      [["orders", "list", "--status", "bogus"], "Allowed choices are"],
      [["orders", "list", "--no-such-flag"], "unknown option"],
      [["dlq", "bogus-sub"], "unknown command"],
    ];
    for (const [args, message] of cases) {
      const run = await cli(args, offline);
      expect(run.code, `${args.join(" ")}: ${run.stderr}`).to.equal(2);
      expect(run.stderr, args.join(" ")).to.include(message);
    }
    const help = await cli(["orders", "list", "--help"], offline);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.include("--status");
  });

  it("when `orders list --review` runs, then each needs_review order names the email in doubt and, after an hour of SendGrid's silence, says it was probably not sent", async () => {
    const fresh = `cs_test_${"R".repeat(58)}`;
    const stale = `cs_test_${"S".repeat(58)}`;
    const resend = `cs_test_${"T".repeat(58)}`;
    await seedOrder(db, fresh, "needs_review", { email: { state: "sending", attempt_id: "a1" } });
    await seedOrder(db, stale, "needs_review", {
      email: { state: "sending", attempt_id: "a2" },
      updated_at: new Date(Date.now() - 2 * 3_600_000),
    });
    await seedOrder(db, resend, "needs_review", {
      email: { state: "sent", resend: { state: "sending", attempt_id: "a3" } },
      updated_at: new Date(Date.now() - 2 * 3_600_000),
    });
    writeLocalState(stateFile, state());
    const run = await cli(["orders", "list", "--review", "--json"], { LOCAL_STATE_FILE: stateFile });
    expect(run.code, run.stderr).to.equal(0);
    const rows = JSON.parse(run.stdout) as { session_id: string; in_doubt: string; status: string }[];
    const note = (id: string) => rows.find((r) => r.session_id === id)?.in_doubt;
    expect(rows.every((r) => r.status === "needs_review")).to.equal(true);
    expect(note(fresh)).to.match(/^order email: waiting for SendGrid's events/);
    expect(note(stale)).to.equal(
      "order email: no SendGrid record: probably not sent (check Email Activity, then resolve --resend)",
    );
    expect(note(resend)).to.match(/^resent email: no SendGrid record: probably not sent/);
    const table = await cli(["orders", "list", "--review"], { LOCAL_STATE_FILE: stateFile });
    expect(table.stdout).to.include("IN_DOUBT").and.include("probably not sent");
    const clash = await cli(["orders", "list", "--review", "--status", "fulfilled"], {
      LOCAL_STATE_FILE: stateFile,
    });
    expect(clash.code).to.equal(2);
  });
});
