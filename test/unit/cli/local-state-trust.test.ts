import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { resolveTarget } from "../../../services/cli/local-target.js";
import {
  checkoutRoot,
  distrustLocalState,
  writeLocalState,
  type LocalStackState,
} from "../../../services/local/state-file.js";

const state = (over: Partial<LocalStackState> = {}, env: LocalStackState["env"] = {}): LocalStackState => ({
  pid: process.pid, // the test runner: a live node process of this checkout
  started_at: new Date().toISOString(),
  env: {
    GOOGLE_CLOUD_PROJECT: "local-project",
    PUBSUB_EMULATOR_HOST: "127.0.0.1:8085",
    FIRESTORE_EMULATOR_HOST: "localhost:8086",
    STRIPE_API_BASE: "http://127.0.0.1:12111",
    SENDGRID_API_BASE: "http://[::1]:3030",
    STRIPE_API_KEY: "sk_test_local",
    ...env,
  },
  urls: {
    receiver: "http://127.0.0.1:8080",
    fulfiller: "http://127.0.0.1:8081",
    sendgrid: "http://127.0.0.1:3030",
    stripe: null,
  },
  ...over,
});

describe("unit: the CLI trusts the local state file only when it is safe", () => {
  let dir: string;
  let file: string;
  const children: ChildProcess[] = [];
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "state-trust-"));
    file = path.join(dir, "stack.json");
  });
  after(() => {
    for (const child of children) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });
  /** A live process, started where and as what the case needs. */
  const live = (command: string, args: string[], cwd: string) =>
    new Promise<number>((resolve, reject) => {
      const child = spawn(command, args, { cwd, stdio: "ignore" });
      children.push(child);
      child.once("error", reject);
      child.once("spawn", () => setTimeout(() => resolve(child.pid!), 100));
    });

  it("when the file is this user's, mode 0600, from a node process of this checkout, with loopback URLs only, then it is trusted", () => {
    writeLocalState(file, state());
    expect(distrustLocalState(file, state())).to.equal(null);
    expect(resolveTarget({}, { forceLocal: false, stateFile: file }).local).to.not.equal(null);
  });

  it("when others may write the file, then it is ignored with the reason, and --local refuses it", () => {
    writeLocalState(file, state());
    chmodSync(file, 0o644);
    expect(distrustLocalState(file, state())).to.equal("its mode is 644, not 600 (others could rewrite it)");
    const target = resolveTarget({}, { forceLocal: false, stateFile: file });
    expect(target.local).to.equal(null);
    expect(target.env.STRIPE_API_KEY).to.equal(undefined);
    expect(target.notice).to.match(/^ignoring .*stack\.json: its mode is 644/);
    expect(() => resolveTarget({}, { forceLocal: true, stateFile: file })).to.throw(
      /refusing .*: the local stack's state file is not safe to use \(its mode is 644/,
    );
    writeLocalState(file, state()); // writing again puts the mode back
    expect(distrustLocalState(file, state())).to.equal(null);
  });

  it("when the file is owned by another user, then it is refused", function () {
    if (process.getuid?.() !== 0) this.skip(); // only root can hand a file to another user
    writeLocalState(file, state());
    chownSync(file, 65534, 65534);
    try {
      expect(distrustLocalState(file, state())).to.equal("it is owned by uid 65534, not by you (0)");
    } finally {
      chownSync(file, 0, 0);
    }
  });

  it("when the live PID is not node, or is node in another folder, then it is refused", async () => {
    writeLocalState(file, state());
    const sleeper = await live("sleep", ["30"], checkoutRoot());
    expect(distrustLocalState(file, state({ pid: sleeper }))).to.equal(
      `process ${sleeper} is sleep, not node`,
    );
    const elsewhere = await live(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], tmpdir());
    expect(distrustLocalState(file, state({ pid: elsewhere }))).to.match(
      new RegExp(`^process ${elsewhere} runs in .*, not in this checkout$`),
    );
    expect(distrustLocalState(file, state({ pid: -1 }))).to.equal("it names no process");
  });

  it("when any base URL or emulator host is off this machine, then it is refused, naming which", () => {
    writeLocalState(file, state());
    const cases: [LocalStackState, string][] = [
      [
        state({}, { STRIPE_API_BASE: "https://stripe.attacker.example" }),
        "STRIPE_API_BASE is not a loopback URL",
      ],
      [state({}, { SENDGRID_API_BASE: "http://10.0.0.5:3030" }), "SENDGRID_API_BASE is not a loopback URL"],
      [
        state({}, { RECEIVER_URL: "http://127.0.0.1.attacker.example:8080" }),
        "RECEIVER_URL is not a loopback URL",
      ],
      [
        state({}, { PUBSUB_EMULATOR_HOST: "pubsub.attacker.example:8085" }),
        "PUBSUB_EMULATOR_HOST is not a loopback address",
      ],
      [
        state({}, { FIRESTORE_EMULATOR_HOST: "192.168.1.2:8086" }),
        "FIRESTORE_EMULATOR_HOST is not a loopback address",
      ],
      [
        state({
          urls: {
            receiver: "http://127.0.0.1:8080",
            fulfiller: "http://127.0.0.1:8081",
            sendgrid: "file:///etc/passwd",
            stripe: null,
          },
        }),
        "sendgrid is not a loopback URL",
      ],
    ];
    for (const [bad, reason] of cases) expect(distrustLocalState(file, bad), reason).to.equal(reason);
  });
});
