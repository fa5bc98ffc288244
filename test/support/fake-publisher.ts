import type { MessagePublisher } from "../../services/common/pubsub.js";

export interface Published {
  data: Buffer;
  attributes: Record<string, string>;
}

/** An in-memory MessagePublisher with programmable failure and delay. */
export class FakePublisher implements MessagePublisher {
  readonly published: Published[] = [];
  failWith: Error | undefined;
  delayMs = 0;
  private counter = 0;

  async publish(data: Buffer, attributes: Record<string, string>): Promise<string> {
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failWith) throw this.failWith;
    this.published.push({ data, attributes });
    this.counter += 1;
    return String(1000 + this.counter);
  }

  async close(): Promise<void> {}
}
