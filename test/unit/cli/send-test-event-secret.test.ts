import { expect } from "chai";
import { resolveSigningSecret } from "../../../services/cli/commands/send-test-event.js";
import { LOCAL } from "../../../services/local/defaults.js";
import { FakeSecrets } from "../../support/fake-secrets.js";

describe("unit: send-test-event's signing secret", () => {
  it("when STRIPE_WEBHOOK_SECRET is an sm:// reference, then it is read from Secret Manager (first of the rolled secrets)", async () => {
    const secrets = new FakeSecrets({
      "projects/my-project/secrets/stripe-webhook-secret/versions/latest": "whsec_new,whsec_old\n",
    });
    const secret = await resolveSigningSecret(
      undefined,
      { GOOGLE_CLOUD_PROJECT: "my-project", STRIPE_WEBHOOK_SECRET: "sm://stripe-webhook-secret" },
      () => secrets,
    );
    expect(secret).to.equal("whsec_new");
    expect(secrets.names).to.have.length(1);
  });

  it("when --secret is given, then it wins; with nothing set, the local stack's secret is used; no client is built for plain values", async () => {
    const refuse = () => Promise.reject(new Error("no Secret Manager for plain values"));
    expect(await resolveSigningSecret("whsec_flag", { STRIPE_WEBHOOK_SECRET: "whsec_env" }, refuse)).to.equal(
      "whsec_flag",
    );
    expect(
      await resolveSigningSecret(undefined, { STRIPE_WEBHOOK_SECRET: " whsec_a , whsec_b" }, refuse),
    ).to.equal("whsec_a");
    expect(await resolveSigningSecret(undefined, {}, refuse)).to.equal(LOCAL.webhookSecret);
  });

  it("when the reference cannot be read or is not a whsec_ secret, then it says so without the value", async () => {
    const secrets = new FakeSecrets({
      "projects/p/secrets/wrong/versions/latest": "sk_test_notawebhooksecret",
    });
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => undefined,
        (err: Error) => err,
      );
    const missing = await failure(
      resolveSigningSecret(
        undefined,
        { GOOGLE_CLOUD_PROJECT: "p", STRIPE_WEBHOOK_SECRET: "sm://missing" },
        () => secrets,
      ),
    );
    expect(missing?.message).to.include("could not read secret sm://missing");
    const wrong = await failure(
      resolveSigningSecret(
        undefined,
        { GOOGLE_CLOUD_PROJECT: "p", STRIPE_WEBHOOK_SECRET: "sm://wrong" },
        () => secrets,
      ),
    );
    expect(wrong?.message).to.include("whsec_").and.not.include("sk_test_notawebhooksecret");
  });
});
