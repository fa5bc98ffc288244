// DESIGN 8, read off the configuration: a first apply with no lazy dependency, a receiver in
// several regions behind one load balancer, deploys that can be undone, protection and
// alerts. What no schema check catches (terraform validate cannot run here: no provider).
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { WEBHOOK_PATHS } from "../../../services/receiver/app.js";

const tf = (file: string) => readFileSync(`terraform/${file}`, "utf8");
/** The body of `resource "TYPE" "NAME" { ... }` (top-level blocks end at a line "}"). */
const block = (file: string, type: string, name: string): string => {
  const m = new RegExp(`^resource "${type}" "${name}" \\{\\n([\\s\\S]*?)^\\}$`, "m").exec(tf(file));
  expect(m, `${type}.${name} in ${file}`).to.not.equal(null);
  return m![1]!;
};

describe("unit: the platform a Google Cloud team signs off (terraform/, DESIGN 8)", () => {
  describe("a first apply with no lazy dependency", () => {
    it("creates the Pub/Sub service agent (google-beta) before any grant to it, and reads its address from there", () => {
      const identity = block("main.tf", "google_project_service_identity", "pubsub");
      expect(identity).to.include("provider   = google-beta");
      expect(identity).to.include('service    = "pubsub.googleapis.com"');
      expect(tf("main.tf")).to.include(
        'pubsub_service_agent = "serviceAccount:${google_project_service_identity.pubsub.email}"',
      );
      // No grant spells the agent's address out by hand.
      for (const file of ["iam.tf", "main.tf", "pubsub.tf"])
        expect(tf(file), file).to.not.include("@gcp-sa-pubsub");
      expect(tf("versions.tf")).to.match(/google-beta = \{\s+source\s+= "hashicorp\/google-beta"/);
      expect(tf("variables.tf")).to.match(
        /variable "pubsub_agent_predates_2021" \{[\s\S]*?default\s+= false/,
      );
    });

    it("lets the deployer act as every account it deploys, the scheduler's included, and gives doctor's reads to it and the operators", () => {
      const actsAs = block("iam.tf", "google_service_account_iam_member", "deployer_acts_as");
      for (const account of ["receiver", "fulfiller", "push", "reconciler", "scheduler"])
        expect(actsAs).to.match(new RegExp(`${account}\\s+= google_service_account\\.${account}\\.name`));
      const doctor = block("deployer.tf", "google_project_iam_custom_role", "doctor");
      for (const permission of [
        "pubsub.topics.get",
        "datastore.indexes.get",
        "run.services.get",
        "run.executions.list",
        "cloudscheduler.jobs.get",
      ])
        expect(doctor).to.include(`"${permission}"`);
      expect(tf("iam.tf")).to.include(
        "cli_members = distinct(concat(var.operators, [local.deployer_member]))",
      );
      expect(block("deployer.tf", "google_project_iam_member", "doctor")).to.include(
        "toset(local.cli_members)",
      );
      // Cloud Build runs as its own account, not the project's default one.
      expect(tf("deployer.tf")).to.match(/resource "google_service_account" "deployer"/);
    });
  });

  describe("a receiver in several regions", () => {
    it("runs the receiver in every receiver_regions region (var.region first) and needs a domain for more than one", () => {
      const run = tf("run.tf");
      expect(run).to.match(
        /receiver_regions\s+= distinct\(concat\(\[var\.region\], var\.receiver_regions\)\)/,
      );
      expect(run).to.include(
        '{ for r in local.extra_receiver_regions : "receiver-${r}" => merge(local.receiver_service, { location = r }) }',
      );
      expect(run).to.include("location             = each.value.location");
      expect(run).to.include(
        'condition     = length(local.receiver_regions) == 1 || var.webhook_domain != ""',
      );
    });

    it("puts one global load balancer, a managed certificate and a serverless NEG per region in front of it when a domain is set", () => {
      expect(block("edge.tf", "google_compute_region_network_endpoint_group", "receiver")).to.include(
        "for_each              = local.edge ? toset(local.receiver_regions) : toset([])",
      );
      const backend = block("edge.tf", "google_compute_backend_service", "receiver");
      expect(backend).to.include('load_balancing_scheme = "EXTERNAL_MANAGED"');
      expect(backend).to.include("security_policy       = google_compute_security_policy.receiver[0].id");
      expect(block("edge.tf", "google_compute_managed_ssl_certificate", "webhooks")).to.include(
        "domains = [var.webhook_domain]",
      );
      expect(block("edge.tf", "google_compute_global_forwarding_rule", "webhooks")).to.include(
        'port_range            = "443"',
      );
      // With a domain, nobody goes around Cloud Armor through run.app.
      expect(tf("run.tf")).to.include(
        'receiver_ingress = var.webhook_domain == "" ? "INGRESS_TRAFFIC_ALL" : "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"',
      );
      expect(tf("outputs.tf")).to.include('public_base_url = local.edge ? "https://${var.webhook_domain}"');
    });

    it("has Cloud Armor admit Stripe's addresses on exactly the receiver's Stripe paths, within Cloud Armor's limits, and leave the rest to signatures", () => {
      const edge = tf("edge.tf");
      const paths = /stripe_paths = (\[[^\]]*\])/.exec(edge)![1]!;
      expect(JSON.parse(paths)).to.deep.equal([...WEBHOOK_PATHS]);
      // A basic match takes 10 ranges at most; an expression 5 subexpressions.
      expect(edge).to.include("chunklist(local.stripe_ip_ranges, 10)");
      expect(WEBHOOK_PATHS.length).to.be.at.most(5);
      const policy = block("edge.tf", "google_compute_security_policy", "receiver");
      expect(policy).to.match(/priority\s+= 1000 \+ tonumber\(rule\.key\)\s+action\s+= "allow"/);
      expect(policy).to.match(/priority\s+= 2000\s+action\s+= "deny\(403\)"/);
      expect(policy).to.match(/priority\s+= 2147483647\s+action\s+= "allow"/);
      // Committed list: what the script makes of the saved copy (its own test checks that).
      const ips = (JSON.parse(tf("stripe_webhook_ips.auto.tfvars.json")) as { stripe_webhook_ips: string[] })
        .stripe_webhook_ips;
      expect(ips.length).to.be.greaterThan(10); // more than one allow rule's worth
      expect(block("edge.tf", "terraform_data", "edge_check")).to.include(
        "length(var.stripe_webhook_ips) > 0",
      );
    });

    it("stores messages only in the pipeline's regions", () => {
      for (const topic of ["events", "dead_letter"])
        expect(block("pubsub.tf", "google_pubsub_topic", topic)).to.match(
          /message_storage_policy \{\s+allowed_persistence_regions = local\.receiver_regions\s+\}/,
        );
    });
  });

  describe("the dispatch link (DESIGN 5b)", () => {
    it("keeps its key in Secret Manager, readable by both services, and points the links at the public base URL", () => {
      expect(tf("secrets.tf")).to.include('dispatch_link_secret = "${var.name_prefix}-dispatch-link-secret"');
      const grant = block(
        "secrets.tf",
        "google_secret_manager_secret_iam_member",
        "services_read_dispatch_secret",
      );
      expect(grant).to.match(/receiver\s+= google_service_account\.receiver\.member/);
      expect(grant).to.match(/fulfiller\s+= google_service_account\.fulfiller\.member/);
      const run = tf("run.tf");
      expect(run).to.match(/DISPATCH_BASE_URL\s+= local\.public_base_url/);
      expect(
        run.match(/DISPATCH_LINK_SECRET\s*= local\.secret_ref\["dispatch_link_secret"\]/g),
      ).to.have.length(2);
      expect(block("monitoring.tf", "google_monitoring_alert_policy", "dispatch_overdue")).to.include(
        'jsonPayload.alert=\\"dispatch_overdue\\"',
      );
    });
  });

  describe("customer data apart (DESIGN 5c)", () => {
    it("expires the private documents with a TTL on their collection group, and keeps the email hash's key in Secret Manager for the fulfiller and the operators", () => {
      const ttl = block("firestore.tf", "google_firestore_field", "customer_details_ttl");
      expect(ttl).to.match(/collection = "private"/);
      expect(ttl).to.match(/field\s+= "expire_at"/);
      expect(ttl).to.include("ttl_config {}");
      expect(tf("secrets.tf")).to.include('order_email_hash_key = "${var.name_prefix}-order-email-hash-key"');
      expect(
        block("secrets.tf", "google_secret_manager_secret_iam_member", "operators_read_email_hash_key"),
      ).to.include("toset(local.cli_members)");
      expect(tf("run.tf")).to.match(/ORDER_PII_RETENTION_DAYS = tostring\(var\.order_pii_retention_days\)/);
    });
  });

  describe("deploys that can be undone, and protection", () => {
    it("creates each service serving its first revision, then leaves traffic to the deploy (candidate, doctor, promote)", () => {
      const service = block("run.tf", "google_cloud_run_v2_service", "service");
      expect(service).to.match(
        /traffic \{\s+type\s+= "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"\s+percent = 100\s+\}/,
      );
      expect(service).to.include("ignore_changes = [traffic]");
      const script = readFileSync("scripts/deploy-revisions.sh", "utf8");
      expect(script)
        .to.include('--update-tags "$tag=$latest"')
        .and.include('--to-revisions "$candidate=100"');
      expect(tf("outputs.tf")).to.match(/output "deploy_targets"/);
    });

    it("keeps tags immutable, protects the secrets and both subscriptions, and alerts when the scheduled reconcile fails", () => {
      expect(block("main.tf", "google_artifact_registry_repository", "images")).to.match(
        /docker_config \{\s+immutable_tags = true\s+\}/,
      );
      expect(block("secrets.tf", "google_secret_manager_secret", "secrets")).to.include(
        "deletion_protection = var.deletion_protection",
      );
      for (const sub of ["push", "dead_letter"])
        expect(block("pubsub.tf", "google_pubsub_subscription", sub)).to.match(
          /lifecycle \{\s+prevent_destroy = true\s+\}/,
        );
      const failed = block("monitoring.tf", "google_monitoring_alert_policy", "reconcile_failed");
      expect(failed).to.include('metric.type = \\"run.googleapis.com/job/completed_execution_count\\"');
      expect(failed).to.include('metric.labels.result = \\"failed\\"');
      expect(block("monitoring.tf", "google_monitoring_alert_policy", "reconcile_not_started")).to.include(
        'resource.type=\\"cloud_scheduler_job\\"',
      );
    });
  });
});
