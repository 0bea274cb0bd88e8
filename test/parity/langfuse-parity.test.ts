import { describe, expect, it } from "vitest";
import { assertExpectation, convertCase, loadCaseFiles, type Encoding } from "./harness.js";

/** Every differential case, in each encoding it can be sent in (see harness.ts for the format). */
const files = loadCaseFiles();

describe("Langfuse converter parity cases", () => {
  it("has cases, with unique names", () => {
    const names = files.flatMap((file) => file.cases.map((testCase) => testCase.name));
    expect(names.length).toBeGreaterThan(0);
    expect(names.filter((name, index) => names.indexOf(name) !== index)).toEqual([]);
  });

  it("says what Langfuse gives wherever this daemon differs on purpose", () => {
    for (const testCase of files.flatMap((file) => file.cases)) {
      if (testCase.deliberateDifference === undefined) continue;
      expect(testCase.deliberateDifference.length, testCase.name).toBeGreaterThan(20);
      expect(testCase.langfuseExpect, testCase.name).toBeDefined();
    }
  });

  for (const file of files) {
    describe(`${file.file} (${file.from})`, () => {
      for (const testCase of file.cases) {
        for (const encoding of testCase.encodings ?? (["json", "protobuf"] satisfies Encoding[])) {
          const title = `${testCase.name} [${encoding}]${testCase.deliberateDifference === undefined ? "" : " (deliberate difference)"}`;
          it(title, () => {
            const expectation = encoding === "protobuf" ? (testCase.protobufExpect ?? testCase.expect) : testCase.expect;
            assertExpectation(convertCase(testCase, encoding), expectation);
          });
        }
      }
    });
  }
});
