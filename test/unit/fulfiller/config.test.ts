import { expect } from "chai";
import { ConfigError } from "../../../services/common/errors.js";
import { loadFulfillerConfig } from "../../../services/fulfiller/config.js";

const VALID = {
  GOOGLE_CLOUD_PROJECT: "my-project",
  STRIPE_API_KEY: "sk_test_abc123",
  SENDGRID_API_KEY: "SG.key",
  EMAIL_FROM: "orders@example.com",
  FULFILMENT_EMAIL_TO: "warehouse@example.com",
  PUSH_AUDIENCE: "https://fulfiller.example/pubsub/push",
  PUSH_SERVICE_ACCOUNT: "push@my-project.iam.gserviceaccount.com",
};

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadFulfillerConfig(env);
  } catch (err) {
    expect(err).to.be.instanceOf(ConfigError);
    return (err as ConfigError).message;
  }
  throw new Error("the configuration was accepted");
}

describe("unit: fulfiller start-up refusals", () => {
  it("when the configuration is valid, then it starts with the product ids it was given", () => {
    const config = loadFulfillerConfig({ ...VALID, FULFILMENT_PRODUCT_IDS: "prod_Scale01, prod_Scale02" });
    expect(config.FULFILMENT_PRODUCT_IDS).to.deep.equal(["prod_Scale01", "prod_Scale02"]);
  });

  it("when FULFILMENT_PRODUCT_IDS holds a price id or a typo, then it refuses, naming the variable and each bad entry", () => {
    const message = problemsOf({
      ...VALID,
      FULFILMENT_PRODUCT_IDS: "prod_Scale01,price_1PgafmB7WZ01zgkW6dKueIc5,prdo_Typo",
    });
    expect(message).to.include("FULFILMENT_PRODUCT_IDS");
    expect(message).to.include("price_1PgafmB7WZ01zgkW6dKueIc5").and.include("prdo_Typo");
    expect(message).to.not.include("prod_Scale01,");
  });

  it("when the handler deadline is not below the lease, then it refuses", () => {
    const message = problemsOf({ ...VALID, HANDLER_DEADLINE_MS: "60000", ORDER_LEASE_SECONDS: "60" });
    expect(message).to.include("HANDLER_DEADLINE_MS").and.include("ORDER_LEASE_SECONDS (60 s)");
    expect(() =>
      loadFulfillerConfig({ ...VALID, HANDLER_DEADLINE_MS: "59999", ORDER_LEASE_SECONDS: "60" }),
    ).to.not.throw();
  });

  for (const mode of ["cloud-run", "oidc"]) {
    it(`when PUSH_AUTH=${mode} lacks PUSH_AUDIENCE and PUSH_SERVICE_ACCOUNT, then it refuses, naming both`, () => {
      const message = problemsOf({
        ...VALID,
        PUSH_AUTH: mode,
        PUSH_AUDIENCE: undefined,
        PUSH_SERVICE_ACCOUNT: "",
      });
      expect(message).to.include(`PUSH_AUDIENCE: is required when PUSH_AUTH=${mode}`);
      expect(message).to.include(`PUSH_SERVICE_ACCOUNT: is required when PUSH_AUTH=${mode}`);
    });
  }

  it("when PUSH_AUTH=none, then neither is needed", () => {
    expect(
      loadFulfillerConfig({ ...VALID, PUSH_AUTH: "none", PUSH_AUDIENCE: "", PUSH_SERVICE_ACCOUNT: "" })
        .PUSH_AUTH,
    ).to.equal("none");
  });

  it("when a required variable is missing, then the schema's own explanation is shown", () => {
    const message = problemsOf({ ...VALID, GOOGLE_CLOUD_PROJECT: undefined, SENDGRID_API_KEY: undefined });
    expect(message).to.include(
      "GOOGLE_CLOUD_PROJECT: is required (Cloud Run does not set it; Terraform does)",
    );
    expect(message).to.include("SENDGRID_API_KEY: is required");
  });

  it("when a URL is not http(s), then it refuses: `localhost:8080` parses as a URL of the scheme `localhost:`", () => {
    for (const bad of ["localhost:8080", "127.0.0.1:12111", "mailto:ops@example.com", "nope"]) {
      expect(problemsOf({ ...VALID, STRIPE_API_BASE: bad }), bad).to.include(
        "STRIPE_API_BASE: must be an http(s) URL",
      );
    }
    const config = loadFulfillerConfig({
      ...VALID,
      STRIPE_API_BASE: "http://127.0.0.1:12111",
      SENDGRID_API_BASE: "https://api.sendgrid.com",
    });
    expect([config.STRIPE_API_BASE, config.SENDGRID_API_BASE]).to.deep.equal([
      "http://127.0.0.1:12111",
      "https://api.sendgrid.com",
    ]);
  });

  it("when an address is not one SendGrid can send to, then it refuses; an apostrophe or a plus is fine", () => {
    for (const good of ["o'brien@example.com", "a+b@ex-ample.co.uk", "first.last@example.com"]) {
      expect(loadFulfillerConfig({ ...VALID, EMAIL_FROM: good }).EMAIL_FROM).to.equal(good);
    }
    for (const bad of [
      "orders",
      "orders@localhost",
      "a..b@example.com",
      ".a@example.com",
      "Shop <orders@example.com>",
    ]) {
      expect(problemsOf({ ...VALID, EMAIL_FROM: bad }), bad).to.include(
        "EMAIL_FROM: must be an email address",
      );
    }
    expect(problemsOf({ ...VALID, EMAIL_FROM: undefined })).to.include("EMAIL_FROM: is required");
    expect(problemsOf({ ...VALID, FULFILMENT_EMAIL_TO: "a@example.com, nope" })).to.include(
      "FULFILMENT_EMAIL_TO: must be email addresses, comma-separated",
    );
    expect(problemsOf({ ...VALID, FULFILMENT_EMAIL_TO: " , " })).to.include(
      "FULFILMENT_EMAIL_TO: must name at least one value",
    );
  });

  it("when other variables are wrong too, then the checks between variables are still listed, so one start shows every problem", () => {
    const message = problemsOf({
      ...VALID,
      STRIPE_API_KEY: undefined,
      SENDGRID_TEMPLATE_ID: "welcome",
      HANDLER_DEADLINE_MS: "60000",
      PUSH_AUDIENCE: undefined,
    });
    expect(message).to.include("STRIPE_API_KEY: is required");
    expect(message).to.include("SENDGRID_TEMPLATE_ID: must be a dynamic template id");
    expect(message).to.include("HANDLER_DEADLINE_MS: must be below ORDER_LEASE_SECONDS (60 s)");
    expect(message).to.include("PUSH_AUDIENCE: is required when PUSH_AUTH=cloud-run");
    // A check between variables waits until the variables it reads are valid.
    expect(problemsOf({ ...VALID, HANDLER_DEADLINE_MS: "abc" })).to.not.include("must be below");
    expect(problemsOf({ ...VALID, PUSH_AUTH: "basic", PUSH_AUDIENCE: undefined })).to.not.include(
      "is required when",
    );
  });

  it("when FULFIL_TRIALS is set, then true/false, 1/0 and yes/no are read and anything else is refused", () => {
    const trials = (value: string | undefined) =>
      loadFulfillerConfig({ ...VALID, FULFIL_TRIALS: value }).FULFIL_TRIALS;
    expect([trials(undefined), trials("true"), trials("1"), trials("yes")]).to.deep.equal([
      true,
      true,
      true,
      true,
    ]);
    expect([trials("false"), trials("0"), trials("no")]).to.deep.equal([false, false, false]);
    expect(problemsOf({ ...VALID, FULFIL_TRIALS: "maybe" })).to.include(
      "FULFIL_TRIALS: must be true or false",
    );
  });
});
