import { randomUUID } from "node:crypto";
import { startStack, type RunningStack, type StackOptions } from "../../services/local/stack.js";
import { recordServiceLine } from "./log-registry.js";

/**
 * The local stack on the suite's emulators, on free ports, with names unique to this
 * test file; every line the services print is kept in `lines` and in the log registry.
 */
export async function startTestStack(
  name: string,
  env: { pubsubHost: string; firestoreHost: string; project: string },
  options: Omit<StackOptions, "emulators" | "project" | "ports" | "namePrefix" | "onLine"> = {},
): Promise<RunningStack & { lines: string[] }> {
  const lines: string[] = [];
  const stack = await startStack({
    ...options,
    emulators: { pubsubHost: env.pubsubHost, firestoreHost: env.firestoreHost },
    project: env.project,
    ports: { receiver: 0, fulfiller: 0, sendgrid: 0, stripe: 0 },
    namePrefix: `${name}-${randomUUID().slice(0, 6)}-`,
    onLine: (part, line) => {
      lines.push(`${part}| ${line}`);
      recordServiceLine(part, line);
    },
  });
  return Object.assign(stack, { lines });
}
