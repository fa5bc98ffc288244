import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
// @ts-expect-error: a plain .mjs script, run by hand (no type declarations)
import { parseStripeIps, tfvarsFor, TFVARS } from "../../../scripts/stripe-webhook-ips.mjs";

const SAVED = "test/fixtures/stripe/ips_webhooks.json";
const parse = parseStripeIps as (text: string) => string[];

describe("unit: scripts/stripe-webhook-ips.mjs (Cloud Armor's list of Stripe's webhook addresses)", () => {
  it("when given the saved copy of Stripe's ips_webhooks.json, then it writes every address, sorted, as the tfvars Terraform reads", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "stripe-ips-"));
    try {
      const out = path.join(dir, "ips.auto.tfvars.json");
      const run = spawnSync(
        process.execPath,
        ["scripts/stripe-webhook-ips.mjs", "--from", SAVED, "--out", out],
        {
          encoding: "utf8",
        },
      );
      expect(run.status, run.stderr).to.equal(0);
      const written = JSON.parse(readFileSync(out, "utf8")) as { stripe_webhook_ips: string[] };
      const saved = (JSON.parse(readFileSync(SAVED, "utf8")) as { WEBHOOKS: string[] }).WEBHOOKS;
      expect(written.stripe_webhook_ips).to.have.members(saved).and.have.length(saved.length);
      expect(written.stripe_webhook_ips[0]).to.equal("3.18.12.63");
      expect(written.stripe_webhook_ips.at(-1)).to.equal("54.187.216.72");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("when --check is given, then it only prints what parses", () => {
    const run = spawnSync(process.execPath, ["scripts/stripe-webhook-ips.mjs", "--from", SAVED, "--check"], {
      encoding: "utf8",
    });
    expect(run.status, run.stderr).to.equal(0);
    expect(run.stdout).to.match(/^15 Stripe webhook addresses parse: 3\.18\.12\.63, /);
  });

  it("when the committed terraform/stripe_webhook_ips.auto.tfvars.json is read, then it is what the script makes of the saved copy", () => {
    expect(readFileSync(TFVARS as string, "utf8")).to.equal(
      (tfvarsFor as (ips: string[]) => string)(parse(readFileSync(SAVED, "utf8"))),
    );
  });

  it("when the list is not Stripe's shape, empty, or holds anything but IPv4 addresses, then it refuses and writes nothing", () => {
    expect(() => parse("<html>")).to.throw(/not JSON/);
    expect(() => parse('{"API": ["1.2.3.4"]}')).to.throw(/no "WEBHOOKS" array/);
    expect(() => parse('{"WEBHOOKS": []}')).to.throw(/empty/);
    expect(() => parse('{"WEBHOOKS": ["1.2.3.4", "999.1.1.1", "::1", 5]}')).to.throw(
      /not IPv4 addresses: 999\.1\.1\.1, ::1, 5/,
    );
    expect(parse('{"WEBHOOKS": ["10.0.0.2", "9.0.0.1", "10.0.0.2"]}')).to.deep.equal(["9.0.0.1", "10.0.0.2"]);
    const run = spawnSync(
      process.execPath,
      ["scripts/stripe-webhook-ips.mjs", "--from", "package.json", "--check"],
      {
        encoding: "utf8",
      },
    );
    expect(run.status).to.equal(1);
    expect(run.stderr).to.include('stripe-webhook-ips: no "WEBHOOKS" array');
  });
});
