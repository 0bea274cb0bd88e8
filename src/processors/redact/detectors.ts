/**
 * The built-in detectors of the `redact` processor: secrets and personal data with a shape that
 * can be recognised in free text. Each is a regular expression (global, so one pass finds every
 * occurrence) and, where the shape alone says too little, a check of the match.
 *
 * Every pattern starts at a character the token cannot continue from (a lookbehind), so the engine
 * tries a match only where one could begin and a long run of letters or digits is read once, not
 * once per position. The shapes follow gitleaks' rules and Presidio's recognisers (facts: the
 * prefixes, lengths and alphabets the issuers publish).
 */
export interface Detector {
  readonly name: DetectorName;
  readonly pattern: RegExp;
  /**
   * Where in a match the secret is (start and end offsets), when the shape alone says too little;
   * undefined leaves the match as it is.
   */
  readonly locate?: (match: string) => readonly [number, number] | undefined;
  /**
   * The pattern starts only after a character that is not a letter, and the token cannot start
   * with that letter instead: in JSON text, the letter of an escape just before the token (the n
   * of \n) hides it from a scan of the raw text.
   */
  readonly hiddenAfterEscape?: true;
  /**
   * Literals of which every match holds at least one: a text without any of them holds no match,
   * and the pattern is not run on it. Given where finding them (String.prototype.includes) costs
   * less than the pattern's own scan of a text that holds no match.
   */
  readonly hints?: readonly string[];
  /**
   * A literal every match holds, with at most `before` characters of the match before it and
   * `after` after it: a long text is searched only around each occurrence of it, instead of the
   * pattern being tried at every position (the e-mail pattern at every word).
   */
  readonly anchor?: { readonly literal: string; readonly before: number; readonly after: number };
}

export const DETECTOR_NAMES = [
  "email",
  "payment_card",
  "jwt",
  "private_key",
  "openai_key",
  "anthropic_key",
  "aws_access_key",
  "github_token",
  "slack_token",
  "google_api_key",
] as const;

export type DetectorName = (typeof DETECTOR_NAMES)[number];

/** Not preceded by a character of a token: the place a key or an address can start. */
const START = "(?<![A-Za-z0-9_-])";
/** Not followed by one: the place it must end. */
const END = "(?![A-Za-z0-9_-])";

const DETECTORS: Readonly<Record<DetectorName, Detector>> = {
  // A practical address: a dot-atom local part, then labels that start and end alphanumeric, the
  // last one letters only (a top-level domain). Quotes and the rarer `atext` characters are left out
  // so that `key=ann@example.com` gives up the address, not the `key=` before it.
  email: {
    name: "email",
    // The pattern is tried at the start of every word; most texts hold no "@" at all.
    hints: ["@"],
    // A local part of at most 64 characters, a domain of at most 253 (RFC 5321), with room to spare.
    anchor: { literal: "@", before: 128, after: 320 },
    pattern: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9-])/g,
  },
  // 13 to 19 digits, in groups separated by single spaces or hyphens, that pass the Luhn check and
  // have a length an issuer with that prefix uses. Epoch timestamps (13 digits from 1, 19 digits of
  // nanoseconds) have no such issuer. A run of groups may hold more than the card ("4111 1111 1111
  // 1111 123", a CVV after it): the card is the longest run of whole groups that is one. Digits after
  // a decimal point ("0.4111111111111111") are a number's, not a card's.
  payment_card: {
    name: "payment_card",
    pattern: /(?<![0-9-])(?<![0-9][.,])[0-9](?:[ -]?[0-9]){12,}(?![0-9])/g,
    locate: locatePaymentCard,
  },
  // header.payload.signature, base64url; the first two segments encode a JSON object (`{"` is `ey`).
  // An unsigned token (`alg: none`) ends after the second dot.
  jwt: {
    name: "jwt",
    hints: [".ey"],
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}ey[A-Za-z0-9_-]{17,}\\.ey[A-Za-z0-9_-]{17,}\\.(?:[A-Za-z0-9_-]{10,}={0,2})?`, "g"),
  },
  // A PEM private key block, from its BEGIN line to its END line; a block cut off before its END
  // line (a truncated log) is redacted to the end of the text.
  private_key: {
    name: "private_key",
    hints: ["-----"],
    pattern: /-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----|$)/gi,
  },
  // Project, service-account and admin keys (sk-proj-…, sk-svcacct-…, sk-admin-…), and the legacy
  // form, which holds "T3BlbkFJ" (base64 of "OpenAI") between two 20-character halves.
  openai_key: {
    name: "openai_key",
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})${END}`, "g"),
  },
  // sk-ant-api03-… (API keys) and sk-ant-admin01-… (admin keys): 93 characters and "AA" today.
  anthropic_key: {
    name: "anthropic_key",
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}sk-ant-[a-z]+[0-9]{2}-[A-Za-z0-9_-]{80,}${END}`, "g"),
  },
  // Access key ids: a four-character prefix (AKIA long-term, ASIA temporary, ABIA, ACCA, A3T…)
  // and 16 base-32 characters.
  aws_access_key: {
    name: "aws_access_key",
    hints: ["A3T", "AKIA", "ASIA", "ABIA", "ACCA"],
    hiddenAfterEscape: true,
    pattern: /(?<![A-Za-z0-9])(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Za-z0-9])/g,
  },
  // Personal, OAuth, user-to-server, server-to-server and refresh tokens (36 characters after the
  // prefix, up to 255 as GitHub allows), and fine-grained personal access tokens.
  github_token: {
    name: "github_token",
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{82,})${END}`, "g"),
  },
  // Bot, user, app-level, configuration and legacy tokens.
  slack_token: {
    name: "slack_token",
    hints: ["xox", "xapp-"],
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}(?:xox[abposre]|xoxe\\.xox[bp]|xapp)-[0-9A-Za-z-]{10,}`, "g"),
  },
  // Google API keys: "AIza" and 35 characters.
  google_api_key: {
    name: "google_api_key",
    hints: ["AIza"],
    hiddenAfterEscape: true,
    pattern: new RegExp(`${START}AIza[0-9A-Za-z_-]{35}${END}`, "g"),
  },
};

export function detector(name: DetectorName): Detector {
  return DETECTORS[name];
}

/** The Luhn checksum: from the right, every second digit doubled (minus 9 above 9); the sum ends in 0. */
export function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Issuer prefixes and the lengths their card numbers have. */
const CARD_ISSUERS: ReadonlyArray<{ prefix: RegExp; lengths: readonly number[] }> = [
  { prefix: /^4/, lengths: [13, 16, 19] }, // Visa
  { prefix: /^(?:5[1-5]|222[1-9]|22[3-9][0-9]|2[3-6][0-9]{2}|27[01][0-9]|2720)/, lengths: [16] }, // Mastercard
  { prefix: /^3[47]/, lengths: [15] }, // American Express
  { prefix: /^(?:6011|65|64[4-9])/, lengths: [16, 17, 18, 19] }, // Discover
  { prefix: /^(?:30[0-5]|309|36|3[89])/, lengths: [14, 15, 16, 17, 18, 19] }, // Diners Club
  { prefix: /^35(?:2[89]|[3-8][0-9])/, lengths: [16, 17, 18, 19] }, // JCB
  { prefix: /^62/, lengths: [16, 17, 18, 19] }, // UnionPay
  { prefix: /^(?:5018|5020|5038|5893|6304|6759|676[1-3])/, lengths: [12, 13, 14, 15, 16, 17, 18, 19] }, // Maestro
  { prefix: /^1/, lengths: [15] }, // UATP
];

/**
 * The longest run of whole digit groups in `text` (digits separated by single spaces or hyphens)
 * that is a card number; undefined when none is.
 */
export function locatePaymentCard(text: string): readonly [number, number] | undefined {
  if (isPaymentCardNumber(text)) return [0, text.length];
  const groups = [...text.matchAll(/[0-9]+/g)].map((group) => [group.index, group.index + group[0].length] as const);
  if (groups.length > 24) return undefined; // not a card's shape; bounds the search below
  let best: readonly [number, number] | undefined;
  for (let first = 0; first < groups.length; first += 1) {
    for (let last = groups.length - 1; last >= first; last -= 1) {
      const start = groups[first]![0];
      const end = groups[last]![1];
      if (best !== undefined && end - start <= best[1] - best[0]) break;
      if (isPaymentCardNumber(text.slice(start, end))) best = [start, end];
    }
  }
  return best;
}

/** A card number: an issuer's prefix, one of its lengths, and the Luhn checksum. */
export function isPaymentCardNumber(text: string): boolean {
  const digits = text.replace(/[ -]/g, "");
  // One kind of separator, as printed cards and forms use; "1-2 3…" is not a card number.
  if (/ /.test(text) && /-/.test(text)) return false;
  if (!CARD_ISSUERS.some(({ prefix, lengths }) => prefix.test(digits) && lengths.includes(digits.length))) return false;
  return passesLuhn(digits);
}
