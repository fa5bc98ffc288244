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
 * Collects messages from a subscription until `count` distinct ones arrived or `timeoutMs`
 * passed. Pub/Sub delivers at least once: a redelivered copy is not counted twice.
 */
export async function receive(
  subscription: Subscription,
  count: number,
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
      if (seen.has(message.id)) return;
      seen.add(message.id);
      messages.push(message);
      if (messages.length >= count) done();
    }
    subscription.on("message", onMessage);
  });
  await subscription.close();
  return messages;
}
