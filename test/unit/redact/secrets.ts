/**
 * Secrets and personal data in the shapes their issuers use, made up for the tests (none is a
 * live credential): one list that the detector, processor and fuzz tests share.
 */
const repeat = (alphabet: string, length: number, seed = 7) => Array.from({ length }, (_, index) => alphabet[(index * seed + 3) % alphabet.length]).join("");
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const URLSAFE = `${ALNUM}_-`;

export const SECRETS = {
  email: ["ann@example.com", "j.doe+llm@mail.example.co.uk", "x_y@sub-domain.example.io"],
  payment_card: ["4111 1111 1111 1111", "5555555555554444", "3782-822463-10005", "2223003122003222", "6011111111111117"],
  jwt: [
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImFkbWluIjp0cnVlfQ.",
  ],
  private_key: [
    `-----BEGIN RSA PRIVATE KEY-----\n${repeat(ALNUM, 64)}\n${repeat(ALNUM, 64, 11)}\n-----END RSA PRIVATE KEY-----`,
    `-----BEGIN OPENSSH PRIVATE KEY-----\n${repeat(ALNUM, 70, 13)}\n-----END OPENSSH PRIVATE KEY-----`,
  ],
  openai_key: [`sk-proj-${repeat(URLSAFE, 74)}T3BlbkFJ${repeat(URLSAFE, 74, 5)}`, `sk-${repeat(ALNUM, 20)}T3BlbkFJ${repeat(ALNUM, 20, 3)}`],
  anthropic_key: [`sk-ant-api03-${repeat(URLSAFE, 93)}AA`, `sk-ant-admin01-${repeat(URLSAFE, 93, 11)}AA`],
  aws_access_key: ["AKIAIOSFODNN7EXAMPLE", "ASIAY34FZKBOKMUTVV7A"],
  github_token: [`ghp_${repeat(ALNUM, 36)}`, `github_pat_${repeat(ALNUM, 22)}_${repeat(ALNUM, 59, 5)}`],
  slack_token: ["xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xapp-1-A0123456789-1234567890123-abcdef0123456789"],
  google_api_key: [`AIza${repeat(URLSAFE, 35)}`],
} as const;

/** Text that looks a little like a secret but is not one: left as it is. */
export const NOT_SECRETS = [
  "4111111111111112", // fails the Luhn check
  "1700000000000", // epoch milliseconds
  "1700000000000000000", // epoch nanoseconds
  "0af7651916cd43dd8448eb211c80319c", // a trace id
  "123e4567-e89b-12d3-a456-426614174000",
  "user@localhost",
  "sk-not-a-key",
  "AKIA1234", // too short
  "ghp_short",
  "version 1.2.3.4",
  "call +1 415 555 2671",
];
