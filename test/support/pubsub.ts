import { PubSub, type Message, type Subscription } from "@google-cloud/pubsub";
import { randomUUID } from "node:crypto";

/** A fresh topic with a pull subscription on the emulator, unique to one test. */
export async function createTopicWithSubscription(
  pubsub: PubSub,
  prefix = "t",
): Promise<{ topic: string; subscription: Subscription }> {
  const name = `${prefix}-${randomUUID().slice(0, 8)}`;
  const [topic] = await pubsub.createTopic(name);
  const [subscription] = await topic.createSubscription(`${name}-sub`, { ackDeadlineSeconds: 10 });
  return { topic: name, subscription };
}

/**
 * Collects messages from a subscription until `enough` distinct ones arrived (or `enough(keys)`
 * says so) or `timeoutMs`
 * passed. Pub/Sub delivers at least once, and a publish retried by the client can store an
 * event twice: copies (same message id, or same `event_id` attribute) are not counted twice.
 */
export async function receive(
  subscription: Subscription,
  enough: number | ((seenKeys: ReadonlySet<string>) => boolean),
  timeoutMs = 10_000,
): Promise<Message[]> {
  const messages: Message[] = [];
  const seen = new Set<string>();
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      subscription.removeListener("message", onMessage);
      resolve();
    }
    function onMessage(message: Message) {
      message.ack();
      const key = message.attributes.event_id ?? message.id;
      if (seen.has(key)) return;
      seen.add(key);
      messages.push(message);
      if (typeof enough === "number" ? messages.length >= enough : enough(seen)) done();
    }
    subscription.on("message", onMessage);
  });
  await subscription.close();
  return messages;
}
