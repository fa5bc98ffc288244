import { expect } from "chai";
import {
  dispatchLink,
  signDispatchToken,
  verifyDispatchToken,
} from "../../../services/common/dispatch-token.js";

const SECRET = "dispatch-secret-0123456789abcdef";
const SESSION = `cs_test_${"a1B2c3D4e5".repeat(6)}`;
const SENT = new Date("2026-12-04T10:00:00Z");

describe("unit: the dispatch link's token (DESIGN 5b)", () => {
  it("round-trips: the token names its order and expiry, 30 days after the email", () => {
    const link = dispatchLink("https://hooks.example.com/", SECRET, SESSION, SENT);
    expect(link).to.match(/^https:\/\/hooks\.example\.com\/dispatch\/cs_test_\w+\.[0-9a-z]+\.[\w-]{43}$/);
    const token = link.split("/dispatch/")[1]!;
    expect(verifyDispatchToken(SECRET, token, SENT)).to.deep.equal({
      ok: true,
      sessionId: SESSION,
      expiresAt: new Date("2027-01-03T10:00:00Z"),
    });
    expect(token.length).to.be.below(130);
  });

  it("refuses a token whose order, expiry or signature was changed, one character at a time", () => {
    const token = signDispatchToken(SECRET, SESSION, new Date("2027-01-01T00:00:00Z"));
    const other = signDispatchToken(SECRET, `cs_test_${"Z".repeat(60)}`, new Date("2027-01-01T00:00:00Z"));
    const [session, expires, signature] = token.split(".") as [string, string, string];
    const swapped = [
      `${other.split(".")[0]}.${expires}.${signature}`, // another order, this signature
      `${session}.${(parseInt(expires, 36) + 86_400).toString(36)}.${signature}`, // a later expiry
      `${session}.${expires}.${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`,
    ];
    for (const t of swapped)
      expect(verifyDispatchToken(SECRET, t, SENT), t).to.deep.equal({ ok: false, reason: "bad_signature" });
    for (let i = 0; i < token.length; i++) {
      if (token[i] === ".") continue;
      const flipped = token.slice(0, i) + (token[i] === "x" ? "y" : "x") + token.slice(i + 1);
      expect(verifyDispatchToken(SECRET, flipped, SENT).ok, `character ${i}`).to.equal(false);
    }
  });

  it("refuses an expired token, saying so, and one made with another key", () => {
    const token = signDispatchToken(SECRET, SESSION, new Date("2026-12-04T09:59:59Z"));
    const expired = verifyDispatchToken(SECRET, token, SENT);
    expect(expired).to.deep.equal({
      ok: false,
      reason: "expired",
      expiresAt: new Date("2026-12-04T09:59:59Z"),
    });
    const fresh = signDispatchToken(
      "another-secret-of-the-same-length!",
      SESSION,
      new Date("2027-01-01T00:00:00Z"),
    );
    expect(verifyDispatchToken(SECRET, fresh, SENT)).to.deep.equal({ ok: false, reason: "bad_signature" });
  });

  it("refuses a truncated or malformed token before any HMAC", () => {
    const token = signDispatchToken(SECRET, SESSION, new Date("2027-01-01T00:00:00Z"));
    for (const bad of [
      "",
      token.slice(0, -5),
      token.split(".").slice(0, 2).join("."),
      `${token}.extra`,
      token.replace("cs_test_", "pi_test_"),
      `${token.split(".")[0]}.-1.${token.split(".")[2]}`,
      "../../etc/passwd",
      "<script>.1.x",
    ])
      expect(verifyDispatchToken(SECRET, bad, SENT), bad).to.deep.equal({ ok: false, reason: "malformed" });
    expect(() => signDispatchToken(SECRET, "cs_test_<b>", SENT)).to.throw(/not a Checkout Session id/);
  });
});
