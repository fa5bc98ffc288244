import { v1, type PubSub } from "@google-cloud/pubsub";

export interface DeadLetter {
  ackId: string;
  messageId: string;
  publishTime: Date | null;
  data: Buffer;
  attributes: Record<string, string>;
  /** How often Pub/Sub delivered this copy on the dead-letter subscription. */
  deliveryAttempt: number | null;
}

export interface BrowseResult {
  messages: DeadLetter[];
  /** False when the listing may be incomplete (limit reached; other readers may hold messages). */
  exhausted: boolean;
}

type Timestamp = { seconds?: number | string | Long | null; nanos?: number | null } | null | undefined;
type Long = { toNumber(): number };

function toDate(ts: Timestamp): Date | null {
  if (!ts?.seconds) return null;
  const seconds = typeof ts.seconds === "object" ? ts.seconds.toNumber() : Number(ts.seconds);
  return new Date(seconds * 1000 + Math.floor((ts.nanos ?? 0) / 1e6));
}

/**
 * Synchronous pull on the dead-letter subscription. Pub/Sub has no browse: listing
 * pulls in rounds (what it holds is leased to it, so each round returns new messages)
 * and then releases everything at once (ack deadline 0).
 */
export class DeadLetterSubscription {
  private client: v1.SubscriberClient | undefined;
  readonly path: string;
  /**
   * Messages pulled and not yet acknowledged or released. Their leases are renewed
   * every third of the lease while any are held, so a long replay or purge never lets
   * one lapse: a lapsed message is delivered again and would be republished twice.
   */
  private readonly held = new Set<string>();
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    private readonly pubsub: PubSub,
    subscription: string,
    private readonly leaseSeconds = 60,
  ) {
    this.path = subscription.includes("/")
      ? subscription
      : `projects/${pubsub.projectId}/subscriptions/${subscription}`;
  }

  private async subscriber(): Promise<v1.SubscriberClient> {
    this.client ??= new v1.SubscriberClient(
      (await this.pubsub.getClientConfig()) as ConstructorParameters<typeof v1.SubscriberClient>[0],
    );
    return this.client;
  }

  /** One pull of up to `max` messages, leased (and kept leased) until acknowledged or released. */
  async pull(max: number): Promise<DeadLetter[]> {
    const client = await this.subscriber();
    let received;
    try {
      [{ receivedMessages: received }] = await client.pull(
        { subscription: this.path, maxMessages: Math.min(max, 1000) },
        // An empty subscription holds a pull open until its deadline: keep rounds short.
        { timeout: 2000, retry: null } as never,
      );
    } catch (err) {
      // An empty subscription may hold the call open until its deadline.
      if ((err as { code?: number }).code === 4) return [];
      throw err;
    }
    const messages = (received ?? []).flatMap((r): DeadLetter[] => {
      const m = r.message;
      if (!r.ackId || !m?.messageId) return [];
      return [
        {
          ackId: r.ackId,
          messageId: m.messageId,
          publishTime: toDate(m.publishTime),
          data: Buffer.from(m.data ?? new Uint8Array()),
          attributes: { ...(m.attributes ?? {}) },
          deliveryAttempt: r.deliveryAttempt ?? null,
        },
      ];
    });
    if (messages.length) {
      await this.modifyDeadline(
        messages.map((m) => m.ackId),
        this.leaseSeconds,
      );
      for (const m of messages) this.held.add(m.ackId);
      this.renewal ??= setInterval(() => void this.renewLeases(), (this.leaseSeconds * 1000) / 3).unref();
    }
    return messages;
  }

  private async renewLeases(): Promise<void> {
    try {
      await this.modifyDeadline([...this.held], this.leaseSeconds);
    } catch {
      // The next renewal tries again; a lease that lapses meanwhile is redelivered, never lost.
    }
  }

  private forget(ackIds: readonly string[]): void {
    for (const id of ackIds) this.held.delete(id);
    if (this.held.size === 0 && this.renewal) {
      clearInterval(this.renewal);
      this.renewal = undefined;
    }
  }

  private async modifyDeadline(ackIds: readonly string[], seconds: number): Promise<void> {
    const client = await this.subscriber();
    for (let i = 0; i < ackIds.length; i += 500) {
      await client.modifyAckDeadline({
        subscription: this.path,
        ackIds: ackIds.slice(i, i + 500),
        ackDeadlineSeconds: seconds,
      });
    }
  }

  /** Pulls in rounds until empty or `limit`, then releases what it holds unless `keepLeased`. */
  async browse(options: {
    limit: number;
    keepLeased?: boolean;
    onProgress?: (n: number) => void;
  }): Promise<BrowseResult> {
    const seen = new Map<string, DeadLetter>();
    let exhausted = false;
    for (let round = 0; round < 1000 && seen.size < options.limit; round++) {
      const batch = await this.pull(Math.min(100, options.limit - seen.size));
      if (batch.length === 0) {
        exhausted = true;
        break;
      }
      for (const m of batch) seen.set(m.messageId, m);
      options.onProgress?.(seen.size);
    }
    const messages = [...seen.values()];
    if (!options.keepLeased) await this.release(messages.map((m) => m.ackId));
    return { messages, exhausted };
  }

  async ack(ackIds: string[]): Promise<void> {
    if (!ackIds.length) return;
    const client = await this.subscriber();
    for (let i = 0; i < ackIds.length; i += 500) {
      await client.acknowledge({ subscription: this.path, ackIds: ackIds.slice(i, i + 500) });
    }
    this.forget(ackIds);
  }

  /** Gives messages back at once (ack deadline 0) so others, or the next listing, see them. */
  async release(ackIds: string[]): Promise<void> {
    if (!ackIds.length) return;
    this.forget(ackIds);
    await this.modifyDeadline(ackIds, 0);
  }

  async close(): Promise<void> {
    this.forget([...this.held]);
    await this.client?.close();
  }
}
