import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { requireEmulators } from "../support/emulator-state.js";

describe("e2e: `npm run bench` smoke run", function () {
  this.timeout(300_000);

  it("when run with --smoke, then it prints its table and writes results.json with the ratios", function () {
    requireEmulators(this); // it starts its own emulators, so it needs gcloud's
    const out = mkdtempSync(path.join(tmpdir(), "bench-"));
    try {
      const run = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--smoke", "--out", out], {
        encoding: "utf8",
        env: { ...process.env, PUBSUB_EMULATOR_HOST: "", FIRESTORE_EMULATOR_HOST: "" },
        timeout: 290_000,
      });
      expect(run.status, run.stderr).to.equal(0);
      expect(run.stdout).to.include("| publisher | offered | round | order | receiver req/s | bare req/s");
      // The profile of each server under load, its own functions among the top entries.
      expect(run.stdout).to.match(/receiver: \d+ requests at \d+ req\/s, busy \d+ µs per request/);
      expect(run.stdout).to.match(/bare-http: \d+ requests at \d+ req\/s/);
      expect(run.stdout).to.include("| self % | µs/request | package or file |");
      const results = JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")) as {
        ratios: Record<string, number | null>;
        fulfiller: {
          duplicate: { firestore_transactions_per_duplicate: number; stripe_calls_per_duplicate: number };
        };
        startup: Record<string, { ready_ms_median: number }>;
        instructions: {
          receiver: { main_k: number; all_k: number; requests: number };
          bare: { main_k: number; all_k: number; requests: number };
          receiver_vs_bare_main_thread: number;
        } | null;
      };
      expect(results.ratios.receiver_vs_bare_http).to.be.a("number").greaterThan(0);
      expect(results.ratios.receiver_vs_express_sample).to.be.a("number").greaterThan(0);
      // Forged posts: each round's counts come from the receiver's own CPU time.
      expect(results.ratios.receiver_cpu_forged_sendgrid_vs_stripe).to.be.a("number").greaterThan(0);
      expect(results.fulfiller.duplicate.firestore_transactions_per_duplicate).to.equal(1);
      expect(results.fulfiller.duplicate.stripe_calls_per_duplicate).to.equal(0);
      // Start-up as the image runs it (the compile cache warmed) and without the cache.
      for (const name of [
        "receiver",
        "fulfiller",
        "receiver_no_compile_cache",
        "fulfiller_no_compile_cache",
        "bare_node_http_with_pubsub_client",
        "bare_node_http_with_firestore_client",
      ]) {
        expect(results.startup[name]?.ready_ms_median, name).to.be.a("number").greaterThan(0);
      }
      if (valgrindInstalled()) {
        const counts = results.instructions!;
        expect(counts.receiver.requests).to.equal(30);
        for (const c of [counts.receiver, counts.bare]) {
          // Each request parses a ~6 KB event and computes an HMAC: hundreds of thousands of instructions.
          expect(c.main_k).to.be.greaterThan(50);
          expect(c.all_k).to.be.at.least(c.main_k);
        }
        expect(counts.receiver_vs_bare_main_thread).to.be.within(0.2, 2);
        expect(run.stdout).to.include("| main thread (JavaScript, event loop) |");
      } else {
        expect(results.instructions).to.equal(null);
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

function valgrindInstalled(): boolean {
  return spawnSync("valgrind", ["--version"]).status === 0;
}
