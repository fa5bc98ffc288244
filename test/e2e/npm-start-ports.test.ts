// A second `npm start`, or anything else on one of its ports: named before anything
// starts, with the way out, instead of a raw EADDRINUSE or a child's exit code 14 s later.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import net from "node:net";
import { LOCAL } from "../../services/local/defaults.js";
import { busyPorts, canBind } from "../../services/local/ports.js";
import { requireEmulators } from "../support/emulator-state.js";

describe("e2e: `npm start` with a port already taken", function () {
  this.timeout(60_000);

  it("when one of its ports is held, then it names that port and LOCAL_STACK_PORTS=auto, and exits 2 before starting anything", async function () {
    requireEmulators(this);
    const port = LOCAL.ports.stripe;
    if (!(await canBind(port))) this.skip(); // held by something outside this test: nothing to prove here
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(port, "127.0.0.1", resolve));
    try {
      const started = Date.now();
      const run = spawnSync(process.execPath, ["--import", "tsx", "services/local/main.ts"], {
        encoding: "utf8",
        env: { ...process.env, LOCAL_STACK_PORTS: "", PUBSUB_EMULATOR_HOST: "", FIRESTORE_EMULATOR_HOST: "" },
        timeout: 30_000,
      });
      expect(run.status, run.stderr).to.equal(2);
      expect(run.stderr).to.include(
        `Cannot start the local stack: port ${port} (stripe) is in use (another \`npm start\`?): stop it, or run with LOCAL_STACK_PORTS=auto`,
      );
      expect(run.stdout + run.stderr).to.not.include("EADDRINUSE");
      expect(run.stdout).to.not.include("starting emulators");
      expect(Date.now() - started).to.be.below(10_000);
      expect(await busyPorts({ stripe: port, free: 0 })).to.have.length(1);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(await busyPorts({ stripe: port })).to.deep.equal([]);
  });
});
