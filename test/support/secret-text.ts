/**
 * fast-check arbitraries of text that holds secrets (the samples of test/unit/redact/secrets.ts) at
 * random places, for the privacy fuzz properties (test/unit/fuzz-privacy.test.ts, and the running
 * daemon in test/integration/fuzz-privacy-daemon.test.ts).
 */
import fc from "fast-check";
import { SECRETS } from "../unit/redact/secrets.js";

export const SECRET_LIST: readonly string[] = Object.values(SECRETS).flat();

/**
 * What stands between a secret and the random text around it: characters no detector reads as part
 * of a token (letters, digits, `_`, `-`, `.`, `%`, `+` are; see detectors.ts), and never a lone
 * space, which the card detector reads as a separator inside a number ("5 4111 1111 1111 1111" is
 * one 17-digit candidate). Escapes in the stored JSON (\n, \t, \", \\) come from these too.
 */
export const SEPARATORS = [
  "\n",
  "\t",
  "\r\n",
  '"',
  "'",
  ", ",
  ": ",
  " (",
  ") ",
  "<",
  ">",
  " | ",
  "; ",
  "=",
  "[",
  "]",
  "{",
  "}",
  "`",
  "\\",
  "/",
  "\u00a0",
  "é",
  "😀",
  "\u2028",
  "\u0000",
] as const;

/** Random text around the secrets: any graphemes, ASCII with control characters, or lone surrogates. */
const filler = fc.oneof(fc.string({ unit: "grapheme", maxLength: 10 }), fc.string({ unit: "binary-ascii", maxLength: 10 }), fc.string({ unit: "binary", maxLength: 4 }));
const separator = fc.constantFrom(...SEPARATORS);

type Segment = { filler: string } | { secret: string; left: string; right: string };

/**
 * Text with secrets at random places: random text, and secrets with a separator on each side
 * (sometimes none before a secret that starts the text, or after one that ends it).
 */
export const textWithSecrets: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(fc.oneof(filler.map((text): Segment => ({ filler: text })), fc.record({ secret: fc.constantFrom(...SECRET_LIST), left: separator, right: separator })), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
    fc.boolean(),
  )
  .map(([segments, bareStart, bareEnd]) => {
    let text = "";
    segments.forEach((segment, index) => {
      if ("filler" in segment) {
        text += segment.filler;
        return;
      }
      const atStart = text === "" && bareStart;
      const atEnd = index === segments.length - 1 && bareEnd;
      text += `${atStart ? "" : segment.left}${segment.secret}${atEnd ? "" : segment.right}`;
    });
    return text;
  });

/** JSON values whose texts hold secrets (a chat prompt, tool arguments…), JSON in JSON included. */
export const jsonWithSecrets: fc.Arbitrary<unknown> = fc.letrec<{ json: unknown; text: string }>((tie) => ({
  text: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    textWithSecrets,
    tie("json").map((value) => JSON.stringify(value)),
    tie("json").map((value) => JSON.stringify(value, null, 2)),
  ),
  json: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    tie("text"),
    fc.array(fc.record({ role: fc.constantFrom("user", "assistant", "system"), content: tie("text") }), { maxLength: 3 }),
    fc.array(tie("json"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom("content", "text", "arguments", "messages", "prompt"), fc.string({ maxLength: 6 })), tie("json"), { maxKeys: 3 }),
    fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)),
  ),
})).json;

/** Text as an attribute holds it: free text with secrets, or JSON text (prompts sent as JSON strings). */
export const contentText = fc.oneof(
  textWithSecrets,
  jsonWithSecrets.map((value) => JSON.stringify(value)),
  fc.array(fc.record({ role: fc.constantFrom("user", "assistant"), content: textWithSecrets }), { minLength: 1, maxLength: 3 }).map((messages) => JSON.stringify(messages)),
);
