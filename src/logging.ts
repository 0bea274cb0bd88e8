import { pino, type Logger } from "pino";

const LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal", "silent"]);

export interface LogSettings {
  level: string;
  format: "json" | "pretty";
}

/**
 * JSON logs on stdout by default, for log collectors; `pretty` for a terminal. Header and
 * credential fields are redacted as a second line of defence: no code path logs them on purpose.
 */
export function createLogger(settings: LogSettings): Logger {
  return pino({
    // LOG_LEVEL overrides the config, for a quick look without editing a ConfigMap.
    level: LEVELS.has(process.env.LOG_LEVEL ?? "") ? process.env.LOG_LEVEL! : settings.level,
    base: { service: "langfuse-otel-receiver" },
    redact: {
      paths: ["authorization", "*.authorization", "headers", "*.headers", "secret_key", "*.secret_key", "secretKey", "password", "*.password"],
      censor: "[redacted]",
    },
    ...(settings.format === "pretty" ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
