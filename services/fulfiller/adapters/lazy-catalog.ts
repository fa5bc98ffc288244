/**
 * The Stripe catalog, loaded on its first call: the Stripe SDK is about 60 ms of module
 * loading at start-up (DESIGN 10 bounds the fulfiller's start at 2x its floor), and a
 * duplicate delivery, the commonest push, never calls Stripe. The first order pays the
 * load once, well inside its deadline.
 */
import type { StripeCatalog } from "../ports.js";

type Method = (...args: unknown[]) => Promise<unknown>;

export function lazyCatalog(load: () => Promise<StripeCatalog>): StripeCatalog {
  let loaded: Promise<StripeCatalog> | undefined;
  const methods = new Map<PropertyKey, Method>();
  return new Proxy({} as StripeCatalog, {
    get(_target, name) {
      let method = methods.get(name);
      if (!method) {
        method = async (...args: unknown[]) => {
          loaded ??= load().catch((err: unknown) => {
            loaded = undefined; // a failed load is tried again on the next call
            throw err;
          });
          const catalog = (await loaded) as unknown as Record<PropertyKey, Method>;
          const real = catalog[name];
          if (typeof real !== "function") throw new TypeError(`StripeCatalog has no method ${String(name)}`);
          return real.apply(catalog, args);
        };
        methods.set(name, method);
      }
      return method;
    },
  });
}
