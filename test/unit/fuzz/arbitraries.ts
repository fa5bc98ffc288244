/** Hostile JSON and bytes for the parser fuzz tests: what an attacker may post. */
import fc from "fast-check";

/** A JSON value with the keys and shapes that break careless parsers. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(null, true, false, 0, -0, 1e308, -1e308, 2 ** 53 + 1, "", "__proto__", "constructor"),
    fc.double(),
    fc.bigInt().map((n) => Number(n)),
    fc.string(),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom("__proto__", "constructor", "prototype", "id", "type", "data", "object"),
        fc.string(),
      ),
      tie("value"),
      { maxKeys: 5 },
    ),
  ),
})).value;

/** A Stripe-event-shaped object with hostile parts, so the fuzz reaches past JSON.parse. */
export const eventLike: fc.Arbitrary<unknown> = fc.record(
  {
    id: fc.oneof(fc.constant("evt_1"), hostileJson),
    object: fc.oneof(fc.constant("event"), hostileJson),
    type: fc.oneof(fc.constant("checkout.session.completed"), hostileJson),
    livemode: fc.oneof(fc.boolean(), hostileJson),
    api_version: fc.oneof(fc.constant("2025-09-30.clover"), hostileJson),
    account: hostileJson,
    data: fc.oneof(fc.record({ object: fc.oneof(fc.record({ id: hostileJson }), hostileJson) }), hostileJson),
  },
  { requiredKeys: [] },
);

/** JSON text, sometimes with a raw `__proto__` key or deep nesting written out by hand. */
export const hostileBody: fc.Arbitrary<string> = fc.oneof(
  eventLike.map((value) => JSON.stringify(value) ?? "null"),
  hostileJson.map((value) => JSON.stringify(value) ?? "null"),
  fc.constant('{"__proto__":{"polluted":true},"id":"evt_1","type":"t","data":{"object":{}}}'),
  fc.integer({ min: 1, max: 20_000 }).map((depth) => "[".repeat(depth) + "]".repeat(depth)),
  fc.integer({ min: 1, max: 5_000 }).map((depth) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
  fc.constant(`{"id":"evt_1","type":"t","livemode":1${"0".repeat(400)},"data":{"object":{"id":1e999}}}`),
  fc.string(),
  fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes).toString("latin1")),
);

/** Extra headers: junk, duplicates and oversized values. */
export const hostileHeaders = (names: readonly string[]): fc.Arbitrary<[string, string][]> =>
  fc.array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...names), fc.constantFrom("content-type", "x-forwarded-for", "x-junk")),
      fc.oneof(
        fc.string({ maxLength: 64 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
        fc.constant("t=1,v1=" + "a".repeat(64)),
        fc.constant("x".repeat(2048)), // long, yet under node:http's 16 KiB for all headers
      ),
    ),
    { maxLength: 4 },
  );

export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 150);
