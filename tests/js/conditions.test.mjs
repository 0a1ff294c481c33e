// The condition builder's model (static/src/designer/properties/conditions.js): rows -> the
// expression text the server evaluates (tests/processes/test_builder_expressions.py evaluates
// the same texts), and back. Run by `make test` (node --test tests/js/).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  isComplete,
  literal,
  parseExpression,
  readLiteral,
  rowToExpression,
  shorten,
  toExpression,
} from "../../static/src/designer/properties/conditions.js";

test("a typed value becomes a literal: numbers, booleans and null as such, text quoted", () => {
  assert.equal(literal("1000"), "1000");
  assert.equal(literal(" -2.5 "), "-2.5");
  assert.equal(literal("TRUE"), "True");
  assert.equal(literal("false"), "False");
  assert.equal(literal("null"), "None");
  assert.equal(literal("EU"), "'EU'");
  assert.equal(literal("'1000'"), "'1000'"); // quoted by the person: stays text
  assert.equal(literal("O'Brien"), "'O\\'Brien'");
  assert.equal(literal("a\\b"), "'a\\\\b'");
  assert.equal(literal(undefined), "''");
});

test("a literal reads back as the builder shows it, or null", () => {
  assert.equal(readLiteral("1000"), "1000");
  assert.equal(readLiteral("True"), "true");
  assert.equal(readLiteral("None"), "null");
  assert.equal(readLiteral("'EU'"), "EU");
  assert.equal(readLiteral("'1000'"), "'1000'"); // text that looks like a number keeps its quotes
  assert.equal(readLiteral("'O\\'Brien'"), "O'Brien");
  assert.equal(readLiteral("amount"), null);
  assert.equal(readLiteral("len(x)"), null);
});

test("only complete rows are written", () => {
  assert.equal(isComplete({ variable: "amount", value: "1" }), true);
  assert.equal(isComplete({ variable: "amount", value: "" }), false);
  assert.equal(isComplete({ variable: "1amount", value: "1" }), false);
  assert.equal(rowToExpression({ variable: "amount", operator: ">", value: "1000" }), "amount > 1000");
  assert.equal(rowToExpression({ variable: "region", value: "EU" }), "region == 'EU'");
  assert.equal(rowToExpression({ variable: "tags", operator: "not contains", value: "vip" }), "not contains(tags, 'vip')");
  assert.equal(rowToExpression({ variable: "", operator: "==", value: "x" }), null);
  assert.equal(
    toExpression({
      join: "or",
      rows: [
        { variable: "amount", operator: ">", value: "1000" },
        { variable: "half", operator: "==", value: "" },
        { variable: "region", operator: "==", value: "EU" },
      ],
    }),
    "amount > 1000 or region == 'EU'",
  );
  assert.equal(toExpression({}), "");
});

test("an expression the rows can show exactly parses back into them", () => {
  assert.deepEqual(parseExpression("amount > 1000 and contains(region, 'EU')"), {
    join: "and",
    rows: [
      { variable: "amount", operator: ">", value: "1000" },
      { variable: "region", operator: "contains", value: "EU" },
    ],
  });
  assert.deepEqual(parseExpression(""), { join: "and", rows: [] });
  // an "and" inside quotes is text, not a join
  assert.deepEqual(parseExpression("note == 'this and that'"), {
    join: "and",
    rows: [{ variable: "note", operator: "==", value: "this and that" }],
  });
});

test("anything the rows cannot show stays a raw expression (null)", () => {
  assert.equal(parseExpression("a > 1 and b > 2 or c > 3"), null); // mixed and/or
  assert.equal(parseExpression("len(items) > 2"), null);
  assert.equal(parseExpression("amount > limit"), null); // a variable on the right
  assert.equal(parseExpression("not == 1"), null); // a keyword is no variable
  assert.equal(parseExpression("name == 'unclosed"), null);
});

test("every written expression parses back to the same rows", () => {
  const condition = {
    join: "and",
    rows: [
      { variable: "amount", operator: ">=", value: "10" },
      { variable: "code", operator: "!=", value: "'1000'" },
      { variable: "owner", operator: "==", value: "null" },
      { variable: "name", operator: "==", value: "O'Brien" },
    ],
  };
  assert.deepEqual(parseExpression(toExpression(condition)), condition);
});

test("labels are shortened for the canvas", () => {
  assert.equal(shorten("  amount   >  1000 "), "amount > 1000");
  assert.equal(shorten("x".repeat(50), 10), `${"x".repeat(9)}…`);
  assert.equal(shorten(null), "");
});
