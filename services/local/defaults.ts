/** The local stack's fixed names and development-only secrets (never valid anywhere else). */
export const LOCAL = {
  project: "local-fulfilment",
  webhookSecret: "whsec_local_stack_development_only",
  stripeApiKey: "sk_test_local_stand_in",
  sendgridApiKey: "SG.local-capture",
  topic: "stripe-events",
  dlqTopic: "stripe-events-dlq",
  dlqSubscription: "stripe-events-dlq-sub",
  pushSubscription: "stripe-events-push",
  ports: { receiver: 8080, fulfiller: 8081, pubsub: 8085, firestore: 8086, sendgrid: 3030, stripe: 12111 },
  emailFrom: "orders@localhost.test",
  emailTo: "fulfilment@localhost.test",
  maxDeliveryAttempts: 5,
} as const;
