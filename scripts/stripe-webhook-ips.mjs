#!/usr/bin/env node
// Refreshes terraform/stripe_webhook_ips.auto.tfvars.json (the variable stripe_webhook_ips,
// which Cloud Armor admits on the Stripe paths) from Stripe's published list of webhook
// source addresses. Run by hand before enabling webhook_domain and whenever Stripe
// announces a change (seven days ahead, on its api-announce list), then `terraform apply`.
//
//   node scripts/stripe-webhook-ips.mjs                 # fetch the live list, write the file
//   node scripts/stripe-webhook-ips.mjs --from FILE     # a saved copy instead of the network
//   node scripts/stripe-webhook-ips.mjs --check         # parse and print; write nothing
//   node scripts/stripe-webhook-ips.mjs --out PATH      # write elsewhere
import { readFileSync, writeFileSync } from "node:fs";
import { isIPv4 } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const SOURCE = "https://stripe.com/files/ips/ips_webhooks.json";
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const TFVARS = path.join(ROOT, "terraform", "stripe_webhook_ips.auto.tfvars.json");

/** The addresses in Stripe's JSON ({"WEBHOOKS": ["3.18.12.63", …]}), sorted and unique; throws on anything else. */
export function parseStripeIps(text) {
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error('not JSON: expected Stripe\'s {"WEBHOOKS": [...]} list');
  }
  const list = parsed?.WEBHOOKS;
  if (!Array.isArray(list)) throw new Error('no "WEBHOOKS" array: is this ips_webhooks.json?');
  const bad = list.filter((ip) => typeof ip !== "string" || !isIPv4(ip));
  if (bad.length) throw new Error(`not IPv4 addresses: ${bad.map(String).join(", ")}`);
  if (list.length === 0) throw new Error("the list is empty: Cloud Armor would refuse every Stripe webhook");
  const octets = (ip) => ip.split(".").map(Number);
  return [...new Set(list)].sort((a, b) => {
    const [x, y] = [octets(a), octets(b)];
    for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return x[i] - y[i];
    return 0;
  });
}

export function tfvarsFor(ips) {
  return `${JSON.stringify({ stripe_webhook_ips: ips }, null, 2)}\n`;
}

async function main(argv) {
  const arg = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const from = arg("--from");
  const out = arg("--out") ?? TFVARS;
  let text;
  if (from) text = readFileSync(from, "utf8");
  else {
    const response = await fetch(SOURCE, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`${SOURCE} answered ${response.status}`);
    text = await response.text();
  }
  const ips = parseStripeIps(text);
  if (argv.includes("--check")) {
    console.log(`${ips.length} Stripe webhook addresses parse: ${ips.join(", ")}`);
    return;
  }
  writeFileSync(out, tfvarsFor(ips));
  console.log(
    `${path.relative(process.cwd(), out)}: ${ips.length} addresses from ${from ?? SOURCE}; now terraform apply`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(`stripe-webhook-ips: ${err.message}`);
    process.exit(1);
  });
}
