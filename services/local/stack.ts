/**
 * The whole pipeline on one machine: emulators (started here or given), topology,
 * Stripe and SendGrid stand-ins, and both services as child processes running their
 * real main.ts. Used by `npm start` and by the end-to-end tests.
 */
import { randomBytes } from "node:crypto";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PubSub } from "@google-cloud/pubsub";
import { startFirestoreEmulator, startPubSubEmulator, type Emulator } from "./emulators.js";
import { createTopology } from "./pubsub-setup.js";
import { StripeStandIn } from "./stripe/stand-in.js";
import { SendGridStandIn, type CapturedEmail } from "./sendgrid-server.js";
import { LOCAL } from "./defaults.js";
import { generateSendGridKeyPair } from "./sendgrid-events.js";
import { lineSplitter } from "./lines.js";
import { freePort, waitForHttpOk } from "./ports.js";
import {
  ACCESSORY_PRODUCT_ID,
  buildProduct,
  buildWebhookEndpoint,
  SCALE_PRODUCT_ID,
} from "./stripe/objects.js";
import { handledEventTypes } from "../fulfiller/classify-event.js";
import { sendTestEvents, type SendOptions, type SentEvent } from "../cli/commands/send-test-event.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface StackOptions {
  /** Use running emulators instead of starting them. */
  emulators?: { pubsubHost: string; firestoreHost: string };
  /** 0 for free ports (tests); defaults to LOCAL.ports. */
  ports?: Partial<Record<keyof typeof LOCAL.ports, number>>;
  project?: string;
  /** Unique names per stack (tests run several on one emulator). */
  namePrefix?: string;
  outboxDir?: string;
  /** Extra environment for both services (e.g. a real STRIPE_API_KEY from .env). */
  env?: Record<string, string | undefined>;
  /** Where each part's output goes, line by line. */
  onLine?: (part: string, line: string) => void;
  onEmail?: (email: CapturedEmail) => void;
  fulfillerEnv?: Record<string, string>;
  /** Whether the capture server plays signed delivery events back to the receiver (default true). */
  deliveryEvents?: boolean;
  /** Push subscription's dead-letter threshold (default LOCAL.maxDeliveryAttempts). */
  maxDeliveryAttempts?: number;
  /** The Stripe stand-in's account-wide limit, requests per second (default none; `npm start` reads LOCAL_STRIPE_RATE_LIMIT). */
  stripeRateLimit?: number | null;
}

export interface RunningStack {
  receiverUrl: string;
  fulfillerUrl: string;
  stripe: StripeStandIn | undefined;
  sendgrid: SendGridStandIn;
  pubsubHost: string;
  firestoreHost: string;
  project: string;
  names: { topic: string; dlqTopic: string; dlqSubscription: string; pushSubscription: string };
  env: Record<string, string>;
  processes: { receiver: ChildProcess; fulfiller: ChildProcess };
  /**
   * Signed `checkout.session.completed` events posted to this stack's receiver; by default
   * one paid order with the scale, its session registered with the Stripe stand-in.
   */
  sendOrders(options?: Partial<Omit<SendOptions, "url" | "secret">>): Promise<SentEvent[]>;
  restartFulfiller(signal?: NodeJS.Signals): Promise<void>;
  stop(): Promise<void>;
}

async function pick(port: number | undefined, fallback: number): Promise<number> {
  if (port === 0) return freePort();
  return port ?? fallback;
}

export async function startStack(options: StackOptions = {}): Promise<RunningStack> {
  const log = options.onLine ?? (() => {});
  const project = options.project ?? LOCAL.project;
  const prefix = options.namePrefix ?? "";
  const names = {
    topic: `${prefix}${LOCAL.topic}`,
    dlqTopic: `${prefix}${LOCAL.dlqTopic}`,
    dlqSubscription: `${prefix}${LOCAL.dlqSubscription}`,
    pushSubscription: `${prefix}${LOCAL.pushSubscription}`,
  };
  const started: Emulator[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
    await Promise.all(started.map((e) => e.stop()));
  };
  try {
    let pubsubHost: string;
    let firestoreHost: string;
    if (options.emulators) {
      ({ pubsubHost, firestoreHost } = options.emulators);
    } else {
      const [ps, fs] = await Promise.all([
        startPubSubEmulator({
          port: await pick(options.ports?.pubsub, LOCAL.ports.pubsub),
          project,
          onLine: (l) => log("pubsub", l),
        }),
        startFirestoreEmulator({
          port: await pick(options.ports?.firestore, LOCAL.ports.firestore),
          onLine: (l) => log("firestore", l),
        }),
      ]);
      started.push(ps, fs);
      pubsubHost = ps.host;
      firestoreHost = fs.host;
    }

    const sendgrid = new SendGridStandIn({
      apiKey: LOCAL.sendgridApiKey,
      outboxDir: options.outboxDir,
      onEmail: options.onEmail,
    });
    await sendgrid.start(await pick(options.ports?.sendgrid, LOCAL.ports.sendgrid));
    cleanups.push(() => sendgrid.stop());
    const realStripeKey = options.env?.STRIPE_API_KEY;
    let stripe: StripeStandIn | undefined;
    if (!realStripeKey) {
      stripe = new StripeStandIn({
        apiKey: LOCAL.stripeApiKey,
        requestsPerSecond: options.stripeRateLimit ?? null,
      });
      await stripe.start(await pick(options.ports?.stripe, LOCAL.ports.stripe));
      const s = stripe;
      cleanups.push(() => s.stop());
    }

    const receiverPort = await pick(options.ports?.receiver, LOCAL.ports.receiver);
    // SendGrid's signed Event Webhook, played back by the capture server with a key made now.
    const sendgridKeys = generateSendGridKeyPair();
    if (options.deliveryEvents !== false)
      sendgrid.deliveryEvents = {
        url: `http://127.0.0.1:${receiverPort}/webhooks/sendgrid`,
        privateKey: sendgridKeys.privateKey,
      };
    const fulfillerPort = await pick(options.ports?.fulfiller, LOCAL.ports.fulfiller);
    if (stripe) {
      // What the account would have: the shipped products, and the endpoint that sends to this receiver.
      for (const [id, name] of [
        [SCALE_PRODUCT_ID, "Smart Scale"],
        [ACCESSORY_PRODUCT_ID, "Scale Cover"],
      ] as const)
        stripe.products.set(id, buildProduct(id, name));
      stripe.webhookEndpoints.push(
        buildWebhookEndpoint({
          url: `http://127.0.0.1:${receiverPort}/webhooks/stripe`,
          enabledEvents: handledEventTypes(),
        }),
      );
    }
    const pubsub = new PubSub({ projectId: project, apiEndpoint: pubsubHost, emulatorMode: true });
    await createTopology(pubsub, {
      ...names,
      pushEndpoint: `http://127.0.0.1:${fulfillerPort}/pubsub/push`,
      maxDeliveryAttempts: options.maxDeliveryAttempts ?? LOCAL.maxDeliveryAttempts,
      ackDeadlineSeconds: 30,
    });
    await pubsub.close();

    const env: Record<string, string> = {
      ...(Object.fromEntries(Object.entries(process.env).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >),
      GOOGLE_CLOUD_PROJECT: project,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      PUBSUB_TOPIC: names.topic,
      PUBSUB_DLQ_TOPIC: names.dlqTopic,
      PUBSUB_DLQ_SUBSCRIPTION: names.dlqSubscription,
      PUBSUB_PUSH_SUBSCRIPTION: names.pushSubscription,
      RECEIVER_URL: `http://127.0.0.1:${receiverPort}`,
      STRIPE_WEBHOOK_SECRET: LOCAL.webhookSecret,
      STRIPE_API_KEY: LOCAL.stripeApiKey,
      SENDGRID_API_KEY: LOCAL.sendgridApiKey,
      SENDGRID_WEBHOOK_PUBLIC_KEY: sendgridKeys.publicKeyBase64,
      // Signed dispatch links in each order email, to this receiver's form (DESIGN 5b): a key made now.
      DISPATCH_LINK_SECRET: randomBytes(32).toString("base64url"),
      DISPATCH_BASE_URL: `http://127.0.0.1:${receiverPort}`,
      // The email look-up hash's key (DESIGN 5c), shared with the CLI through the state file.
      ORDER_EMAIL_HASH_KEY: randomBytes(32).toString("base64url"),
      SENDGRID_API_BASE: sendgrid.url,
      EMAIL_FROM: LOCAL.emailFrom,
      FULFILMENT_EMAIL_TO: LOCAL.emailTo,
      FULFILMENT_PRODUCT_IDS: SCALE_PRODUCT_ID,
      PUSH_AUTH: "none",
      // No Google metadata server exists locally: skip the clients' probe (and its warning).
      METADATA_SERVER_DETECTION: "none",
      ...(stripe ? { STRIPE_API_BASE: stripe.url } : {}),
      ...(Object.fromEntries(Object.entries(options.env ?? {}).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >),
    };

    const spawnService = (
      name: "receiver" | "fulfiller",
      port: number,
      extra: Record<string, string> = {},
    ) => {
      const child = spawn(
        process.execPath,
        ["--import", "tsx", path.join(ROOT, `services/${name}/main.ts`)],
        {
          cwd: ROOT,
          env: { ...env, ...extra, PORT: String(port) },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      // One splitter per stream: stdout and stderr each deliver their own partial lines.
      for (const stream of [child.stdout, child.stderr]) {
        const lines = lineSplitter((line) => log(name, line));
        stream.on("data", (chunk: Buffer) => lines.push(chunk));
        stream.on("end", () => lines.flush());
      }
      return child;
    };

    const processes = {
      receiver: spawnService("receiver", receiverPort),
      fulfiller: spawnService("fulfiller", fulfillerPort, options.fulfillerEnv),
    };
    const stopChild = async (child: ChildProcess, signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 9000);
      await exited;
      clearTimeout(timer);
    };
    cleanups.push(() => stopChild(processes.receiver));
    cleanups.push(() => stopChild(processes.fulfiller));

    const receiverUrl = `http://127.0.0.1:${receiverPort}`;
    const fulfillerUrl = `http://127.0.0.1:${fulfillerPort}`;
    await Promise.all([
      waitForHttpOk(`${receiverUrl}/ready`, { child: processes.receiver }),
      waitForHttpOk(`${fulfillerUrl}/ready`, { child: processes.fulfiller }),
    ]);

    return {
      receiverUrl,
      fulfillerUrl,
      stripe,
      sendgrid,
      pubsubHost,
      firestoreHost,
      project,
      names,
      env,
      processes,
      sendOrders: (send = {}) =>
        sendTestEvents({
          url: `${receiverUrl}/webhooks/stripe`,
          secret: LOCAL.webhookSecret,
          scenario: "paid",
          scale: true,
          count: 1,
          duplicates: 1,
          stripeAdmin: stripe?.url ?? null,
          ...send,
        }),
      async restartFulfiller(signal: NodeJS.Signals = "SIGKILL") {
        await stopChild(processes.fulfiller, signal);
        processes.fulfiller = spawnService("fulfiller", fulfillerPort, options.fulfillerEnv);
        await waitForHttpOk(`${fulfillerUrl}/ready`, { child: processes.fulfiller });
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
