import { pino, type DestinationStream, type Logger } from "pino";
import { RepeatedLogFilter } from "./log-repeats.js";

/** Every logger's repeat filter, so the counts still held can be written before the process exits. */
const repeatFilters = new Set<RepeatedLogFilter>();

/** Writes the counts of repeated lines not yet reported (call before the process exits). */
export function flushRepeatedLogs(): void {
  for (const filter of repeatFilters) filter.flush();
}

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

export interface LogSettings {
  level: string;
  format: "json" | "pretty";
}

/**
 * JSON logs on stdout by default, for log collectors; `pretty` for a terminal. Header and
 * credential fields are redacted as a second line of defence: no code path logs them on purpose.
 * A warning or error repeated within 10 s is logged once, then counted (see log-repeats.ts), so
 * no input can flood the log. `destination` replaces stdout (tests).
 */
export function createLogger(settings: LogSettings, destination?: DestinationStream): Logger {
  const repeats = new RepeatedLogFilter();
  repeatFilters.add(repeats);
  const options = {
    // LOG_LEVEL overrides the config, for a quick look without editing a ConfigMap.
    level: LEVELS.has(process.env.LOG_LEVEL ?? "") ? process.env.LOG_LEVEL! : settings.level,
    base: { service: "langfuse-otel-receiver" },
    redact: {
      paths: [
        "authorization",
        "*.authorization",
        "headers",
        "*.headers",
        "secret_key",
        "*.secret_key",
        "secretKey",
        "password",
        "*.password",
        // azure_blob's credentials, should its config ever be logged.
        "account_key",
        "*.account_key",
        "sas_token",
        "*.sas_token",
        "connection_string",
        "*.connection_string",
      ],
      censor: "[redacted]",
    },
    hooks: { logMethod: repeats.hook() },
  };
  if (destination !== undefined) return pino(options, destination);
  return pino({ ...options, ...(settings.format === "pretty" ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}) });
}
