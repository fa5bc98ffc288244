import { expect } from "chai";
import { runSoak, renderReport } from "../soak/soak.js";
import { requireEmulators } from "../support/emulator-state.js";
import { recordServiceLine } from "../support/log-registry.js";

describe("e2e: short soak (the full one is `npm run soak`)", function () {
  this.timeout(240_000);

  it("when 40 orders are each delivered 3 times in random order and the fulfiller is killed mid-way, then none is lost and none doubled", async function () {
    const env = requireEmulators(this);
    const report = await runSoak({
      orders: 40,
      copies: 3,
      emulators: { pubsubHost: env.pubsubHost, firestoreHost: env.firestoreHost },
      project: env.project,
      kill: true,
      onServiceLine: recordServiceLine,
    });
    console.log(renderReport(report));
    expect(report.lost, report.lost_ids.join("\n")).to.equal(0);
    expect(report.doubled).to.equal(0);
    expect(report.max_emails_per_order).to.equal(1);
    expect(report.kills).to.equal(1);
    expect(report.fulfilled + report.needs_review).to.equal(
      report.by_kind.shipped + report.by_kind.async + report.by_kind.subscription,
    );
    // What Pub/Sub holds, counted on the topic: every delivery answered 2xx was published
    // (a publish whose answer was lost may add a copy), and no acknowledged event is missing.
    expect(report.receiver_2xx).to.equal(report.deliveries_posted);
    expect(report.published).to.be.at.least(report.receiver_2xx);
    expect(report.acknowledged_not_published).to.equal(0);
    expect(report.published_events).to.equal(
      report.by_kind.shipped +
        report.by_kind.not_shipped +
        report.by_kind.subscription +
        report.by_kind.unpaid +
        2 * report.by_kind.async,
    );
  });
});
