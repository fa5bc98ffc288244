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
});
