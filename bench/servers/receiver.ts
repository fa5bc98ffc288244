/** (a) The receiver as shipped: its createApp and publisher, served like main.ts does. */
import { createApp } from "../../services/receiver/app.js";
import { createLogger } from "../../services/common/logger.js";
import { serve } from "../../services/common/http.js";
import { announce, benchPubSub, benchPublisher, env } from "./common.js";

const pubsub = benchPubSub();
const publisher = benchPublisher(pubsub);
const logger = createLogger({ service: "receiver", level: "warn" });
const app = createApp({ webhookSecrets: [env.secret], publisher, publishTimeoutMs: 4000, logger });
const running = await serve(app, { port: env.port, host: "127.0.0.1", logger });
announce(running.port);
