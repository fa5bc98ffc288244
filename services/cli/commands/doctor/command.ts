/** The `doctor` command: its options, its help, and its exit code. */
import { Command } from "commander";
import { formatResults } from "./format.js";
import { runDoctor } from "./run-doctor.js";

export function doctorCommand(): Command {
  return new Command("doctor")
    .description("Check a deployment end to end, read-only: one line per check, each problem with its fix.")
    .option("--json", "a JSON array of {check, status, detail, fix}")
    .option(
      "--deploy",
      "after a deploy, before traffic moves: check the revisions tagged --candidate-tag, and report backlog as warnings (exit 1 only for the wiring)",
    )
    .option("--candidate-tag <tag>", "with --deploy: the traffic tag of the revisions to check", "candidate")
    .addHelpText(
      "after",
      "\nIt checks: the topics and subscriptions and how they are wired (push endpoint, audience,\n" +
        "dead-letter policy, the Pub/Sub service agent's grants where IAM is readable), the dead-letter\n" +
        "backlog, Firestore and its TTL policy, that each secret resolves, the Stripe key and its mode,\n" +
        "the webhook endpoint for RECEIVER_URL (event types, API version), every FULFILMENT_PRODUCT_IDS\n" +
        "entry, the SendGrid key's permission to send, and orders needing review or undelivered.\n" +
        "It reads the same variables as the services (sm:// references resolved); RECEIVER_URL is the\n" +
        "receiver's base URL, PUBSUB_PUSH_SUBSCRIPTION the push subscription (terraform output).\n" +
        "With CLOUD_RUN_REGION, RECEIVER_SERVICE and FULFILLER_SERVICE (cli_env sets them) it checks the Cloud\n" +
        "Run side too: each revision ready, the fulfiller's push settings against the subscription, who may\n" +
        "invoke what, the reconcile schedule and its last run. A permission it lacks is skipped: needs X.\n" +
        "Exit 1 when anything is wrong. Run it after every apply; Cloud Build runs it with --deploy.\n" +
        "\nExamples:\n  npm run cli -- doctor\n  npm run cli -- doctor --local      # against `npm start`\n  npm run cli -- doctor --json\n  npm run cli -- doctor --deploy     # as Cloud Build runs it, before moving traffic",
    )
    .action(async (opts: { json?: boolean; deploy?: boolean; candidateTag: string }) => {
      const results = await runDoctor({
        env: process.env,
        ...(opts.deploy ? { deploy: { candidateTag: opts.candidateTag } } : {}),
      });
      console.log(opts.json ? JSON.stringify(results, null, 2) : formatResults(results));
      if (results.some((r) => r.status === "problem")) process.exitCode = 1;
    });
}
