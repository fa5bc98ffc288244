import { PubSub } from "@google-cloud/pubsub";

export interface PipelineTopology {
  topic: string;
  dlqTopic: string;
  dlqSubscription: string;
  pushSubscription: string;
  pushEndpoint: string;
  maxDeliveryAttempts: number;
  ackDeadlineSeconds: number;
}

/**
 * Creates (or re-creates) the topics and subscriptions on the emulator: the main topic,
 * the dead-letter topic with its pull subscription, and the push subscription to the
 * fulfiller with a dead-letter policy and no retry policy (the emulator's push loop
 * can stall with one: DESIGN section 7).
 */
export async function createTopology(pubsub: PubSub, t: PipelineTopology): Promise<void> {
  for (const name of [t.topic, t.dlqTopic]) {
    const [exists] = await pubsub.topic(name).exists();
    if (!exists) await pubsub.createTopic(name);
  }
  const dlq = pubsub.subscription(t.dlqSubscription);
  if (!(await dlq.exists())[0]) {
    await pubsub.topic(t.dlqTopic).createSubscription(t.dlqSubscription, {
      ackDeadlineSeconds: 60,
      // Production keeps 31 days (Terraform); the emulator accepts at most 7.
      messageRetentionDuration: { seconds: 7 * 24 * 3600 },
    });
  }
  const push = pubsub.subscription(t.pushSubscription);
  if ((await push.exists())[0]) await push.delete();
  await pubsub.topic(t.topic).createSubscription(t.pushSubscription, {
    pushConfig: { pushEndpoint: t.pushEndpoint },
    ackDeadlineSeconds: t.ackDeadlineSeconds,
    deadLetterPolicy: {
      deadLetterTopic: pubsub.topic(t.dlqTopic).name,
      maxDeliveryAttempts: t.maxDeliveryAttempts,
    },
  });
}
