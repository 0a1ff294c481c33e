// ISO-8601 durations and timer previews of the properties panel
// (static/src/designer/properties/durations.js). The server reads the same values
// (apps/engine/core/timers.py) and stays the authority.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  durationText,
  readBusiness,
  readDuration,
  timerPreview,
  writeDuration,
} from "../../static/src/designer/properties/durations.js";

test("simple durations read into the picker and write back", () => {
  assert.deepEqual(readDuration("PT15M"), { amount: 15, unit: "M" });
  assert.deepEqual(readDuration(" p2w "), { amount: 2, unit: "W" });
  assert.equal(readDuration("P1DT2H"), null); // not one picker value
  assert.equal(readDuration(""), null);
  assert.equal(writeDuration(8, "H"), "PT8H");
  assert.equal(writeDuration("3", "D"), "P3D");
  assert.equal(writeDuration(0, "D"), "");
  assert.equal(writeDuration(1.5, "H"), "");
  assert.equal(writeDuration(2, "fortnights"), "");
});

test("business time reads and writes as words", () => {
  assert.deepEqual(readBusiness("4 business hours"), { amount: 4, unit: "BH" });
  assert.deepEqual(readBusiness("1 Business Day"), { amount: 1, unit: "BD" });
  assert.equal(readBusiness("PT4H"), null);
  assert.equal(writeDuration(1, "BD"), "1 business day");
  assert.equal(writeDuration(2, "BH"), "2 business hours");
});

test("any ISO duration is said in words", () => {
  assert.equal(durationText("P1D"), "1 day");
  assert.equal(durationText("PT2H30M"), "2 hours 30 minutes");
  assert.equal(durationText("P1Y2M3W4DT5H6M7S"), "1 year 2 months 3 weeks 4 days 5 hours 6 minutes 7 seconds");
  assert.equal(durationText("P"), null);
  assert.equal(durationText("PT"), null);
  assert.equal(durationText("1 day"), null);
});

test("timer previews say when the timer fires", () => {
  assert.equal(timerPreview("duration", "PT1H"), "1 hour after it is reached");
  assert.equal(timerPreview("duration", ""), "not set yet");
  assert.equal(timerPreview("duration", "wait_for"), "when the expression wait_for says (evaluated when the timer starts)");
  assert.equal(timerPreview("duration", "soon!"), null);
  assert.equal(timerPreview("date", "2026-03-01T09:30:00Z"), "on 2026-03-01 09:30 UTC");
  assert.equal(timerPreview("cycle", "R3/PT10M"), "every 10 minutes, 3 times");
  assert.equal(timerPreview("cycle", "R/2026-01-01T00:00:00Z/P1D"), "every day from 2026-01-01T00:00:00Z");
  assert.equal(timerPreview("cycle", "0 9 * * 1-5"), "every weekday at 09:00");
  assert.equal(timerPreview("cycle", "30 8 * * 1,3"), "every Monday and Wednesday at 08:30");
  assert.equal(timerPreview("cycle", "*/15 * * * *"), "every 15 minutes");
  assert.equal(timerPreview("cycle", "0 7 1 * *"), "on day 1 of every month at 07:00");
  assert.equal(timerPreview("cycle", "nonsense here"), null);
});
