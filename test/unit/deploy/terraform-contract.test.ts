import { expect } from "chai";
import { readFileSync } from "node:fs";
import Stripe from "stripe";
import { STRIPE_API_VERSION } from "../../../services/common/stripe-api-version.js";
import { RECEIVER_ENV_KEYS } from "../../../services/receiver/config.js";
import { FULFILLER_ENV_KEYS } from "../../../services/fulfiller/config.js";
import { handledEventTypes } from "../../../services/fulfiller/classify-event.js";
import { RECONCILED_TYPES } from "../../../services/cli/commands/reconcile.js";

const runTf = readFileSync("terraform/run.tf", "utf8");
const mainTf = readFileSync("terraform/main.tf", "utf8");

/** The keys of one `NAME_env = merge({ ... }, ...)` local in run.tf. */
function envKeys(local: string): string[] {
  const start = runTf.indexOf(`${local} = merge(`);
  const end = runTf.indexOf("\n  )\n", start);
  const block = runTf.slice(start, end);
  return [...block.matchAll(/\b([A-Z][A-Z0-9_]+)\s*=/g)].map((m) => m[1]!);
}

describe("unit: Terraform keeps the services' configuration contract", () => {
  for (const [service, local, known, required] of [
    [
      "receiver",
      "receiver_env",
      RECEIVER_ENV_KEYS,
      ["GOOGLE_CLOUD_PROJECT", "STRIPE_WEBHOOK_SECRET", "PUBSUB_TOPIC"],
    ],
    [
      "fulfiller",
      "fulfiller_env",
      FULFILLER_ENV_KEYS,
      [
        "GOOGLE_CLOUD_PROJECT",
        "STRIPE_API_KEY",
        "SENDGRID_API_KEY",
        "EMAIL_FROM",
        "FULFILMENT_EMAIL_TO",
        "PUSH_AUDIENCE",
        "PUSH_SERVICE_ACCOUNT",
        "PUBSUB_DLQ_TOPIC",
      ],
    ],
  ] as const) {
    it(`when Terraform sets the ${service}'s environment, then every name is one the service reads, PORT is not set, and the required ones are`, () => {
      const keys = envKeys(local);
      expect(keys.length).to.be.greaterThan(3);
      for (const key of keys) expect(known, `${service} does not read ${key}`).to.include(key);
      expect(keys).to.not.include("PORT");
      expect(keys).to.include.members([...required]);
    });
  }

  it("when the stack outputs the Stripe API version, then it is the one stripe-node pins, and the one doctor and the stand-in use", () => {
    const version = /stripe_api_version = "([^"]+)"/.exec(mainTf)?.[1];
    expect(version).to.equal(Stripe.API_VERSION);
    expect(STRIPE_API_VERSION).to.equal(Stripe.API_VERSION);
  });

  it("when the stack lists the event types to enable in Stripe, then they are exactly the ones the fulfiller acts on and reconcile covers", () => {
    const outputsTf = readFileSync("terraform/outputs.tf", "utf8");
    const block =
      /output "stripe_event_types_to_enable" \{[\s\S]*?value = \[([\s\S]*?)\]/.exec(outputsTf)?.[1] ?? "";
    const listed = [...block.matchAll(/"([a-z_.]+)"/g)].map((m) => m[1]);
    expect(listed).to.deep.equal(handledEventTypes());
    expect([...RECONCILED_TYPES]).to.have.members(handledEventTypes());
  });

  it("when secrets are wired, then they are sm:// references, never values", () => {
    expect(runTf).to.match(/STRIPE_WEBHOOK_SECRET\s*=\s*local\.secret_ref/);
    // Pinned to a version (DESIGN 8): never `latest`, which a version added out of band would move.
    expect(runTf).to.include(
      'secret_ref = { for k, v in google_secret_manager_secret.secrets : k => "sm://${v.id}/versions/${lookup(var.secret_versions, k, "unset")}" }',
    );
    expect(runTf).to.not.match(/versions\/latest/);
    expect(tf("variables.tf")).to.match(
      /variable "secret_versions" \{[\s\S]*?regex\("\^\[1-9\]\[0-9\]\*\$", v\)/,
    );
    expect(readFileSync("terraform/secrets.tf", "utf8")).to.not.match(/secret_data/);
  });

  const tf = (file: string) => readFileSync(`terraform/${file}`, "utf8");
  /** The body of each `resource "TYPE" "NAME" { ... }` block (top-level blocks end at a line "}"). */
  const blocks = (file: string, type: string): [string, string][] =>
    [
      ...tf(file).matchAll(new RegExp(`^resource "${type}" "([a-z0-9_]+)" \\{\\n([\\s\\S]*?)^\\}$`, "gm")),
    ].map((m) => [m[1]!, m[2]!]);

  it("when alerts are defined, then each has a severity, goes to the notification channels, and names the CLI command that resolves it", () => {
    const alerts = blocks("monitoring.tf", "google_monitoring_alert_policy");
    expect(alerts.length).to.be.at.least(9);
    for (const [name, body] of alerts) {
      expect(body, name).to.match(/severity\s+= "(CRITICAL|ERROR|WARNING)"/);
      expect(body, name).to.include("notification_channels = var.notification_channels");
      expect(body, name).to.match(/content\s+= ".*`npm run cli -- [a-z]/);
    }
    expect(tf("variables.tf")).to.match(
      /variable "notification_channels" \{[\s\S]*?length\(var\.notification_channels\) > 0/,
    );
  });

  it("when resources take labels, then every one carries local.labels", () => {
    const labelled: [string, string][] = [
      ["pubsub.tf", "google_pubsub_topic"],
      ["pubsub.tf", "google_pubsub_subscription"],
      ["secrets.tf", "google_secret_manager_secret"],
      ["run.tf", "google_cloud_run_v2_service"],
      ["reconcile.tf", "google_cloud_run_v2_job"],
      ["main.tf", "google_artifact_registry_repository"],
    ];
    for (const [file, type] of labelled) {
      const found = blocks(file, type);
      expect(found, type).to.not.be.empty;
      for (const [name, body] of found)
        expect(body, `${type}.${name}`).to.match(/^\s+labels\s+= local\.labels$/m);
    }
  });

  it("when push auth is oidc, then Cloud Run's own invoker check is off for the fulfiller (else every push is refused); the receiver is public by the same setting, with no allUsers grant", () => {
    expect(runTf).to.include('invoker_iam_disabled = var.push_auth == "oidc"');
    expect(runTf).to.match(/receiver_service = \{[\s\S]*?invoker_iam_disabled = true/);
    expect(runTf).to.include("invoker_iam_disabled = each.value.invoker_iam_disabled");
    for (const file of ["iam.tf", "run.tf", "reconcile.tf", "edge.tf"])
      expect(tf(file), file).to.not.include('"allUsers"');
  });

  it("when the services are created, then they wait for their secrets' pinned versions, a digest, and Google's documented IAM propagation", () => {
    const [[, service]] = blocks("run.tf", "google_cloud_run_v2_service") as [[string, string]];
    expect(service).to.include("condition     = local.secrets_pinned");
    expect(service).to.include('condition     = var.image != ""');
    expect(service).to.include("time_sleep.grants_propagate");
    expect(runTf).to.include('create_duration = "${var.iam_propagation_seconds}s"');
    expect(tf("variables.tf")).to.match(/variable "iam_propagation_seconds" \{[\s\S]*?default\s+= 420/);
    expect(tf("variables.tf")).to.match(
      /variable "image" \{[\s\S]*?regex\("@sha256:\[0-9a-f\]\{64\}\$", var\.image\)/,
    );
    expect(tf("versions.tf")).to.match(/version = "~> 6\.50"/);
  });

  it("when Cloud Build deploys, then Terraform is formatted and validated first, the emulators are required, and doctor runs after the apply", () => {
    const build = readFileSync("cloudbuild.yaml", "utf8");
    const ids = [...build.matchAll(/^ {2}- id: ([a-z-]+)$/gm)].map((m) => m[1]);
    expect(ids).to.deep.equal([
      "install",
      "lint",
      "typecheck",
      "test",
      "terraform-check",
      "build",
      "push",
      "terraform",
      "candidate",
      "doctor",
      "promote",
    ]);
    expect(build).to.include("terraform fmt -check -recursive terraform").and.include("terraform validate");
    expect(build).to.match(/waitFor: \["lint", "typecheck", "test", "terraform-check"\]/);
    expect(build).to.include('env: ["REQUIRE_EMULATORS=1", "CI=true"]');
    expect(build).to.include("google-cloud-cli:528.0.0-emulators");
    // The deploy is checked before traffic moves, and judged on its wiring only.
    expect(build).to.include("node dist/services/cli/main.js doctor --deploy");
    expect(build)
      .to.include("scripts/deploy-revisions.sh tag")
      .and.include("scripts/deploy-revisions.sh promote");
    // Long enough for the suite and a first apply's IAM wait; the image by digest; pinned tools.
    expect(build).to.match(/^timeout: 3600s$/m);
    expect(build).to.include('-var="image=$(cat /workspace/image.txt)"').and.include("RepoDigests");
    expect(build).to.include("-lockfile=readonly");
    const images = [...build.matchAll(/^\s+name: (\S+)$/gm)].map((m) => m[1]!);
    for (const image of images)
      if (!image.startsWith("${_REGION}"))
        expect(image, "a pinned builder image").to.match(/:\d+\.\d+\.\d+(-[a-z]+)*$/);
  });

  it("when the dashboard is rendered, then it is valid JSON whose charts read only metrics this configuration defines or Google provides", () => {
    const metrics = new Map(
      blocks("monitoring.tf", "google_logging_metric").map(([name, body]) => [
        name,
        /name\s+= "\$\{var\.name_prefix\}-([a-z-]+)"/.exec(body)?.[1],
      ]),
    );
    expect([...metrics.keys()]).to.include.members([
      "events_received",
      "fulfilment_outcomes",
      "webhook_to_email_latency",
      "dead_letters",
      "needs_review",
      "undelivered_emails",
    ]);
    // templatefile(): ${name} is a variable, $${...} a literal ${...}.
    const vars = /templatefile\("\$\{path\.module\}\/dashboard\.json\.tftpl", \{([\s\S]*?)\}\)/.exec(
      tf("monitoring.tf"),
    )![1]!;
    const given = Object.fromEntries(
      [...vars.matchAll(/^\s+([a-z_]+)\s+= (.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
    );
    const template = readFileSync("terraform/dashboard.json.tftpl", "utf8");
    const used = new Set([...template.matchAll(/(?<!\$)\$\{([a-z_]+)\}/g)].map((m) => m[1]!));
    for (const name of used) expect(given, `template variable ${name}`).to.have.property(name);
    const rendered = template
      .replace(/(?<!\$)\$\{([a-z_]+)\}/g, (_, name: string) => `rendered-${name}`)
      .replace(/\$\$\{/g, "${");
    const dashboard = JSON.parse(rendered) as {
      displayName: string;
      mosaicLayout: {
        tiles: {
          widget: {
            title: string;
            xyChart: { dataSets: { timeSeriesQuery: { timeSeriesFilter: { filter: string } } }[] };
          };
        }[];
      };
    };
    const tiles = dashboard.mosaicLayout.tiles;
    expect(tiles).to.have.length(11);
    expect(tiles.map((t) => t.widget.title)).to.include(
      "Dispatch: confirmations from the warehouse, and orders overdue (per hour)",
    );
    for (const tile of tiles)
      for (const set of tile.widget.xyChart.dataSets) {
        const type = /metric\.type="([^"]+)"/.exec(set.timeSeriesQuery.timeSeriesFilter.filter)![1]!;
        const user = /^logging\.googleapis\.com\/user\/rendered-([a-z_]+)$/.exec(type);
        if (user) {
          // The variable names a logging metric resource of this configuration.
          expect(given[user[1]!], tile.widget.title).to.match(/^google_logging_metric\.[a-z_]+\.name$/);
          expect(metrics.has(given[user[1]!]!.split(".")[1]!), tile.widget.title).to.equal(true);
        } else expect(type, tile.widget.title).to.match(/^(pubsub|run)\.googleapis\.com\//);
      }
  });

  it("when metrics read log fields, then they are the fields the services write", () => {
    const fields = [...tf("monitoring.tf").matchAll(/jsonPayload\.([A-Za-z_.]+)/g)].map((m) => m[1]!);
    // Each is written by the services (checked against their source, where the lines are built).
    const written = [
      "outcome",
      "source",
      "event_type",
      "alert",
      "webhook_to_email_ms",
      "session_id",
      "httpRequest.requestMethod",
      "httpRequest.requestUrl",
    ];
    expect(new Set(fields)).to.satisfy((set: Set<string>) => [...set].every((f) => written.includes(f)));
    const code = [
      "services/common/http.ts",
      "services/receiver/app.ts",
      "services/fulfiller/claims/email-fence.ts",
      "services/fulfiller/app.ts",
    ]
      .map((f) => readFileSync(f, "utf8"))
      .join("\n");
    for (const field of [
      "webhook_to_email_ms",
      "requestMethod",
      "requestUrl",
      'source: "stripe"',
      "outcome: outcome.result",
    ])
      expect(code, field).to.include(field);
  });
});
