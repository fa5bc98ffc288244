import { createInterface } from "node:readline/promises";
import { Command, InvalidArgumentError } from "commander";
import { isThin, noticeOf, parseStripeEvent } from "../../common/event.js";
import { withDeadline, type MessagePublisher } from "../../common/pubsub.js";
import { errorMessage } from "../../common/errors.js";
import type { DeadLetter, DeadLetterSubscription } from "../dead-letters.js";
import { describeDeadLetter, replayAttributes, type DeadLetterRow } from "../dead-letter-view.js";
import { age, parseDuration, Progress, table, UsageError } from "../output.js";
import { loadCliConfig } from "../config.js";
import { PipelineClients } from "../pipeline-clients.js";

const INCOMPLETE_NOTE =
  "Pub/Sub has no browse: this listing pulls in rounds and releases what it pulled. It may show a message twice " +
  "or miss one another reader holds; `orders list --status failed` is the second index.";

function limitArg(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new InvalidArgumentError("must be a whole number from 1 to 100000");
  return n;
}

export async function listDeadLetters(
  dlq: DeadLetterSubscription,
  limit: number,
): Promise<{ rows: DeadLetterRow[]; exhausted: boolean }> {
  const { messages, exhausted } = await dlq.browse({ limit });
  return { rows: messages.map(describeDeadLetter), exhausted };
}

export interface ReplaySelection {
  eventIds?: string[];
  type?: string;
  all?: boolean;
  dryRun?: boolean;
  limit: number;
}

export interface ReplayResult {
  replayed: DeadLetterRow[];
  skipped: number;
  failed: { row: DeadLetterRow; error: string }[];
  dryRun: boolean;
}

function selects(selection: ReplaySelection, m: DeadLetter): boolean {
  if (selection.all) return true;
  if (selection.eventIds?.length)
    return (
      selection.eventIds.includes(m.attributes.event_id ?? "") || selection.eventIds.includes(m.messageId)
    );
  if (selection.type) return m.attributes.event_type === selection.type;
  return false;
}

/**
 * Republishes the selected dead letters to the main topic (original data and
 * attributes, minus dead-letter ones, plus replayed_at and replay_count) and
 * acknowledges each only after its republish succeeded. The rest are released.
 */
export async function replayDeadLetters(
  deps: {
    dlq: DeadLetterSubscription;
    publisher: MessagePublisher;
    now?: () => Date;
    progress?: (done: number, total: number) => void;
  },
  selection: ReplaySelection,
): Promise<ReplayResult> {
  const now = deps.now ?? (() => new Date());
  const { messages } = await deps.dlq.browse({ limit: selection.limit * 10, keepLeased: true });
  const chosen = messages.filter((m) => selects(selection, m)).slice(0, selection.limit);
  const chosenIds = new Set(chosen.map((m) => m.ackId));
  await deps.dlq.release(messages.filter((m) => !chosenIds.has(m.ackId)).map((m) => m.ackId));
  const result: ReplayResult = {
    replayed: [],
    skipped: messages.length - chosen.length,
    failed: [],
    dryRun: !!selection.dryRun,
  };
  if (selection.dryRun) {
    await deps.dlq.release(chosen.map((m) => m.ackId));
    result.replayed = chosen.map(describeDeadLetter);
    return result;
  }
  let done = 0;
  // A few at a time: fast for hundreds of messages, gentle on the topic.
  const queue = [...chosen];
  const worker = async () => {
    for (let m = queue.shift(); m; m = queue.shift()) {
      const row = describeDeadLetter(m);
      try {
        await withDeadline(
          deps.publisher.publish(m.data, replayAttributes(m.attributes, now())),
          15_000,
          "republish",
        );
        await deps.dlq.ack([m.ackId]);
        result.replayed.push(row);
      } catch (err) {
        await deps.dlq.release([m.ackId]).catch(() => {});
        result.failed.push({ row, error: errorMessage(err) });
      }
      deps.progress?.(++done, chosen.length);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return result;
}

/** Removes dead letters published before now - olderThanMs, after `confirm` agrees. */
export async function purgeDeadLetters(
  deps: { dlq: DeadLetterSubscription; now?: () => Date },
  options: { olderThanMs: number; limit: number; confirm: (rows: DeadLetterRow[]) => Promise<boolean> },
): Promise<{ removed: DeadLetterRow[]; kept: number; cancelled: boolean }> {
  const cutoff = (deps.now?.() ?? new Date()).getTime() - options.olderThanMs;
  const { messages } = await deps.dlq.browse({ limit: options.limit, keepLeased: true });
  const old = messages.filter((m) => m.publishTime !== null && m.publishTime.getTime() < cutoff);
  const oldIds = new Set(old.map((m) => m.ackId));
  await deps.dlq.release(messages.filter((m) => !oldIds.has(m.ackId)).map((m) => m.ackId));
  const rows = old.map(describeDeadLetter);
  if (!old.length || !(await options.confirm(rows))) {
    await deps.dlq.release(old.map((m) => m.ackId));
    return { removed: [], kept: messages.length, cancelled: old.length > 0 };
  }
  await deps.dlq.ack(old.map((m) => m.ackId));
  return { removed: rows, kept: messages.length - old.length, cancelled: false };
}

function showSummary(m: DeadLetter, full: boolean): Record<string, unknown> {
  const event = parseStripeEvent(m.data);
  const notice = event ? noticeOf(event) : null;
  const object = notice?.snapshot;
  const summary: Record<string, unknown> = {
    ...describeDeadLetter(m),
    attributes: m.attributes,
    event: event
      ? {
          id: event.id,
          type: event.type,
          payload_style: notice!.style,
          created: isThin(event)
            ? (event.created ?? null)
            : event.created
              ? new Date(event.created * 1000).toISOString()
              : null,
          livemode: event.livemode,
          object_id: notice!.objectId,
          object: isThin(event) ? event.related_object.type : (object?.object ?? null),
          status: object?.status ?? null,
          payment_status: object?.payment_status ?? null,
          mode: object?.mode ?? null,
          amount_total: object?.amount_total ?? null,
          currency: object?.currency ?? null,
        }
      : { undecodable: m.data.toString("utf8").slice(0, 200) },
  };
  if (full && object) summary.customer_details = object.customer_details ?? null;
  return summary;
}

async function withClients<T>(
  needs: Parameters<typeof loadCliConfig>[1],
  fn: (c: PipelineClients) => Promise<T>,
): Promise<T> {
  const config = await loadCliConfig(process.env, needs);
  const clients = await PipelineClients.open(config, ["pubsub"]);
  try {
    return await fn(clients);
  } finally {
    await clients.close();
  }
}

export function dlqCommand(): Command {
  const dlq = new Command("dlq")
    .description("Dead letters: list, show, replay and purge what the pipeline could not process.")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- dlq list\n  npm run cli -- dlq show evt_...\n" +
        "  npm run cli -- dlq replay --event-id evt_... --dry-run",
    );

  dlq
    .command("list")
    .description("List dead letters without consuming them.")
    .option("--limit <n>", "at most this many", limitArg, 1000)
    .option("--json", "a JSON array for scripts")
    .addHelpText(
      "after",
      `\nExample:\n  npm run cli -- dlq list --json | jq '.[].reason'\n\n${INCOMPLETE_NOTE}`,
    )
    .action(async (opts: { limit: number; json?: boolean }) =>
      withClients([], async (clients) => {
        const { rows, exhausted } = await listDeadLetters(clients.deadLetters(), opts.limit);
        if (opts.json) {
          console.log(JSON.stringify(rows, null, 2));
        } else if (rows.length === 0) {
          console.log("the dead-letter subscription is empty");
        } else {
          console.log(
            table(
              rows.map((r) => ({ ...r, age: age(r.published_at ? new Date(r.published_at) : null) })),
              [
                "message_id",
                "event_id",
                "event_type",
                "reason",
                "delivery_count",
                "source_subscription",
                "age",
              ],
            ),
          );
        }
        // The count and the caveat once, on stderr, when there is something to qualify.
        if (!opts.json && rows.length > 0)
          console.error(
            `\n${rows.length} message(s)${exhausted ? "" : " (limit reached: there may be more)"}. ${INCOMPLETE_NOTE}`,
          );
      }),
    );

  dlq
    .command("show")
    .argument("<id>", "a Pub/Sub message id or a Stripe event id")
    .description("Show one dead letter: attributes and a summary of its event.")
    .option("--full", "include customer details")
    .option("--limit <n>", "how many dead letters to search", limitArg, 10_000)
    .addHelpText("after", "\nExample:\n  npm run cli -- dlq show evt_1PgaBc...")
    .action(async (id: string, opts: { full?: boolean; limit: number }) =>
      withClients([], async (clients) => {
        const { messages } = await clients.deadLetters().browse({ limit: opts.limit });
        const found = messages.find((m) => m.messageId === id || m.attributes.event_id === id);
        if (!found) {
          console.error(`no dead letter with message id or event id ${id}. ${INCOMPLETE_NOTE}`);
          process.exitCode = 1;
          return;
        }
        console.log(JSON.stringify(showSummary(found, !!opts.full), null, 2));
      }),
    );

  dlq
    .command("replay")
    .description(
      "Republish dead letters to the main topic; each is acknowledged only after its republish succeeded.",
    )
    .option("--event-id <ids...>", "Stripe event ids (or message ids) to replay")
    .option("--type <type>", "replay every dead letter of this event type")
    .option("--all", "replay everything")
    .option("--dry-run", "show what would be replayed; change nothing")
    .option("--limit <n>", "at most this many", limitArg, 1000)
    .option("--json", "print the result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  npm run cli -- dlq replay --event-id evt_123 evt_456\n  npm run cli -- dlq replay --type checkout.session.completed --dry-run\n  npm run cli -- dlq replay --all\n\n" +
        "Safe to run twice: the fulfiller's dedupe makes a replay of a fulfilled order a no-op.",
    )
    .action(
      async (opts: {
        eventId?: string[];
        type?: string;
        all?: boolean;
        dryRun?: boolean;
        limit: number;
        json?: boolean;
      }) => {
        const chosen = [opts.eventId?.length ? 1 : 0, opts.type ? 1 : 0, opts.all ? 1 : 0].reduce(
          (a, b) => a + b,
          0,
        );
        if (chosen !== 1) throw new UsageError("choose exactly one of --event-id, --type or --all");
        await withClients([], async (clients) => {
          const bar = new Progress("replaying", opts.limit);
          const result = await replayDeadLetters(
            {
              dlq: clients.deadLetters(),
              publisher: clients.mainTopicPublisher(),
              progress: (d) => bar.tick(d),
            },
            {
              eventIds: opts.eventId,
              type: opts.type,
              all: opts.all,
              dryRun: opts.dryRun,
              limit: opts.limit,
            },
          );
          if (opts.json) console.log(JSON.stringify(result, null, 2));
          else {
            for (const r of result.replayed)
              console.log(
                `${result.dryRun ? "would replay" : "replayed"} ${r.message_id} ${r.event_id ?? "-"} ${r.event_type ?? "-"}`,
              );
            for (const f of result.failed)
              console.error(
                `FAILED ${f.row.message_id} ${f.row.event_id ?? "-"}: ${f.error} (left in the dead-letter subscription)`,
              );
            console.log(
              `${result.dryRun ? "dry run: " : ""}replayed ${result.replayed.length}, skipped ${result.skipped}, failed ${result.failed.length}`,
            );
          }
          if (result.failed.length) process.exitCode = 1;
        });
      },
    );

  dlq
    .command("purge")
    .description("Delete dead letters published longer ago than a duration.")
    .requiredOption("--older-than <duration>", "e.g. 14d, 36h", (v) => {
      try {
        return parseDuration(v);
      } catch (err) {
        throw new InvalidArgumentError(errorMessage(err));
      }
    })
    .option("--yes", "do not ask for confirmation")
    .option("--limit <n>", "how many dead letters to examine", limitArg, 10_000)
    .addHelpText("after", "\nExample:\n  npm run cli -- dlq purge --older-than 30d")
    .action(async (opts: { olderThan: number; yes?: boolean; limit: number }) =>
      withClients([], async (clients) => {
        const result = await purgeDeadLetters(
          { dlq: clients.deadLetters() },
          {
            olderThanMs: opts.olderThan,
            limit: opts.limit,
            confirm: async (rows) => {
              console.log(
                table(rows as unknown as Record<string, unknown>[], [
                  "message_id",
                  "event_id",
                  "event_type",
                  "published_at",
                  "reason",
                ]),
              );
              if (opts.yes) return true;
              if (!process.stdin.isTTY)
                throw new UsageError("refusing to purge without a terminal to confirm: pass --yes");
              const rl = createInterface({ input: process.stdin, output: process.stdout });
              const answer = await rl.question(`Delete these ${rows.length} dead letter(s) for good? [y/N] `);
              rl.close();
              return /^y(es)?$/i.test(answer.trim());
            },
          },
        );
        if (result.cancelled) console.log("cancelled: nothing removed");
        else console.log(`removed ${result.removed.length}, kept ${result.kept}`);
      }),
    );
  return dlq;
}
