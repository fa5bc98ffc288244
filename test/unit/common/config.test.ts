import { expect } from "chai";
import { FakeSecrets } from "../../support/fake-secrets.js";
import { ConfigError } from "../../../services/common/errors.js";
import { loadReceiverConfig } from "../../../services/receiver/config.js";
import { resolveSecrets, secretVersionName } from "../../../services/common/secrets.js";
import { extractParent, injectTrace, logTraceFields } from "../../../services/common/tracing.js";

const SECRET = "whsec_0123456789abcdef0123456789abcdef";

const traceFields = (header: string | undefined, project: string) =>
  logTraceFields(extractParent({}, header), project);

describe("unit: configuration", () => {
  it("when every variable is valid, then defaults fill the rest and secrets are split and trimmed", () => {
    const config = loadReceiverConfig({
      GOOGLE_CLOUD_PROJECT: "my-project",
      STRIPE_WEBHOOK_SECRET: " whsec_one_0123456789abcdef ,\twhsec_two_0123456789abcdef\n",
    });
    expect(config.STRIPE_WEBHOOK_SECRET).to.deep.equal([
      "whsec_one_0123456789abcdef",
      "whsec_two_0123456789abcdef",
    ]);
    expect(config.PORT).to.equal(8080);
    expect(config.PUBSUB_TOPIC).to.equal("stripe-events");
    expect(config.PUBLISH_TIMEOUT_MS).to.equal(4000);
    expect(config.STRIPE_EVENT_TYPES).to.deep.equal([]);
  });

  it("when several variables are wrong, then one error names every one of them", () => {
    let error: unknown;
    try {
      loadReceiverConfig({ PORT: "99999", STRIPE_WEBHOOK_SECRET: "sk_test_oops", PUBLISH_TIMEOUT_MS: "-1" });
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["PORT", "GOOGLE_CLOUD_PROJECT", "STRIPE_WEBHOOK_SECRET", "PUBLISH_TIMEOUT_MS"]) {
      expect(message).to.include(name);
    }
    expect(message).to.not.include("sk_test_oops");
  });

  it("when a signing secret is the bare prefix or shorter than Stripe issues, then the start stops naming the variable, not the value", () => {
    const problems = (secret: string) => {
      try {
        loadReceiverConfig({ GOOGLE_CLOUD_PROJECT: "my-project", STRIPE_WEBHOOK_SECRET: secret });
      } catch (err) {
        return (err as ConfigError).message;
      }
      return "accepted";
    };
    const weak = [
      "whsec_",
      "whsec_0123456789abcde",
      `${SECRET},whsec_`,
      `whsec_short,${SECRET}`,
      "whsec_0123456789 abcdef",
    ];
    for (const secret of weak) {
      const message = problems(secret);
      expect(message, secret).to.include(
        "STRIPE_WEBHOOK_SECRET: every comma-separated value must be a webhook signing secret: whsec_ followed by at least 16 characters",
      );
      expect(message, secret).not.to.include("0123456789").and.not.include("short");
    }
    expect(problems("whsec_0123456789abcdef")).to.equal("accepted");
    expect(problems(`${SECRET}, whsec_0123456789abcdef`)).to.equal("accepted");
  });

  it("when a number is not whole decimal digits in range, then it is refused with the range, whatever Number() would make of it", () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadReceiverConfig({ GOOGLE_CLOUD_PROJECT: "my-project", STRIPE_WEBHOOK_SECRET: SECRET, ...env });
      } catch (err) {
        return (err as ConfigError).message;
      }
      return "accepted";
    };
    for (const port of ["abc", "1.5", "0x10", "1e3", "99999", "-1", "65536"]) {
      expect(problems({ PORT: port }), port).to.include("PORT: must be a port number from 0 to 65535");
    }
    for (const timeout of ["0", "2.5", "soon"]) {
      expect(problems({ PUBLISH_TIMEOUT_MS: timeout }), timeout).to.include(
        "PUBLISH_TIMEOUT_MS: must be a whole number above 0",
      );
    }
    const config = loadReceiverConfig({
      GOOGLE_CLOUD_PROJECT: "my-project",
      STRIPE_WEBHOOK_SECRET: SECRET,
      PORT: " 0 ",
      PUBLISH_TIMEOUT_MS: "2500",
    });
    expect([config.PORT, config.PUBLISH_TIMEOUT_MS]).to.deep.equal([0, 2500]);
  });

  it("when a value is not one of a fixed set, then the set is named and the value is not repeated", () => {
    let message = "";
    try {
      loadReceiverConfig({
        STRIPE_WEBHOOK_SECRET: SECRET,
        LOG_LEVEL: "verbose_x",
        OTEL_TRACES_EXPORTER: "jaeger_x",
      });
    } catch (err) {
      message = (err as ConfigError).message;
    }
    expect(message).to.include(
      "GOOGLE_CLOUD_PROJECT: is required (Cloud Run does not set it; Terraform does)",
    );
    expect(message).to.include("LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent");
    expect(message).to.include("OTEL_TRACES_EXPORTER: must be one of gcp, console, none");
    expect(message).to.not.include("verbose_x").and.not.include("jaeger_x");
  });
});

describe("unit: secret resolution", () => {
  it("when values are sm:// references, then they are read from Secret Manager; plain values pass through", async () => {
    const client = new FakeSecrets({
      "projects/p1/secrets/stripe-key/versions/latest": "sk_test_123\n",
      "projects/other/secrets/hook/versions/3": "whsec_abc",
    });
    const env = await resolveSecrets(
      "test",
      {
        GOOGLE_CLOUD_PROJECT: "p1",
        STRIPE_API_KEY: "sm://stripe-key",
        STRIPE_WEBHOOK_SECRET: "sm://projects/other/secrets/hook/versions/3",
        PLAIN: "as-is",
      },
      () => client,
    );
    expect(env.STRIPE_API_KEY).to.equal("sk_test_123");
    expect(env.STRIPE_WEBHOOK_SECRET).to.equal("whsec_abc");
    expect(env.PLAIN).to.equal("as-is");
  });

  it("when no value is a reference, then no client is created", async () => {
    let created = false;
    await resolveSecrets("test", { A: "b" }, () => {
      created = true;
      return new FakeSecrets({});
    });
    expect(created).to.equal(false);
  });

  it("when secrets cannot be read, then one ConfigError names each variable and never a value", async () => {
    const promise = resolveSecrets(
      "test",
      { GOOGLE_CLOUD_PROJECT: "p1", A: "sm://missing-one", B: "sm://bad/ref" },
      () => new FakeSecrets({}),
    );
    let error: unknown;
    try {
      await promise;
    } catch (err) {
      error = err;
    }
    expect(error).to.be.instanceOf(ConfigError);
    expect((error as Error).message).to.include("A: could not read secret sm://missing-one");
    expect((error as Error).message).to.include("B: could not read secret sm://bad/ref");
  });

  it("when a short reference has no project, then it says so", () => {
    expect(() => secretVersionName("sm://x", undefined)).to.throw(/GOOGLE_CLOUD_PROJECT/);
  });
});

describe("unit: trace correlation", () => {
  it("when X-Cloud-Trace-Context is present, then the Cloud Logging trace fields are set", () => {
    expect(traceFields("105445aa7843bc8bf206b12000100000/1;o=1", "p1")).to.deep.equal({
      "logging.googleapis.com/trace": "projects/p1/traces/105445aa7843bc8bf206b12000100000",
      // Cloud Logging joins spans by their hex id: the header's decimal 1 is 0000000000000001.
      "logging.googleapis.com/spanId": "0000000000000001",
      "logging.googleapis.com/trace_sampled": true,
    });
    expect(traceFields("garbage", "p1")).to.deep.equal({});
    expect(traceFields(undefined, "p1")).to.deep.equal({});
    expect(traceFields("105445aa7843bc8bf206b12000100000/18446744073709551615;o=0", "p1")).to.deep.include({
      "logging.googleapis.com/spanId": "ffffffffffffffff",
      "logging.googleapis.com/trace_sampled": false,
    });
  });

  it("when traceparent is present, then it wins over X-Cloud-Trace-Context, and is carried on as it came", () => {
    const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const context = extractParent({ traceparent }, "105445aa7843bc8bf206b12000100000/1;o=1");
    expect(logTraceFields(context, undefined)).to.deep.equal({
      "logging.googleapis.com/trace": "4bf92f3577b34da6a3ce929d0e0e4736",
      "logging.googleapis.com/spanId": "00f067aa0ba902b7",
      "logging.googleapis.com/trace_sampled": true,
    });
    const attributes: Record<string, string> = {};
    injectTrace(context, attributes);
    expect(attributes).to.deep.equal({ traceparent });
    expect(logTraceFields(extractParent({ traceparent: "00-zz-bad" }), "p1")).to.deep.equal({});
  });
});
