#!/usr/bin/env node
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { formatProblem } from "./config/problems.js";
import { VERSION } from "./version.js";

// Each command loads the code it uses. The pipeline's code (components, the config checks that
// know them, clients) is most of a process's memory: a worker loads it first thing, and a primary
// never does (src/primary-start.ts).
const loadConfigChecks = () => import("./config/load.js");

const USAGE = `langfuse-otel-receiver ${VERSION}

Usage:
  langfuse-otel-receiver run --config <file>           start the daemon
  langfuse-otel-receiver validate --config <file>      check a config without starting anything
  langfuse-otel-receiver test <tests.yaml>... [--config <file>]
                                                       run pipeline unit tests offline (no Redis or S3)
  langfuse-otel-receiver dead-letters --config <file>  list what the spool could not export, and why
  langfuse-otel-receiver dead-letters --replay --config <file>
                                                       export the dead letters again (after fixing the cause)
  langfuse-otel-receiver version                       print the version

Options:
  -c, --config <file>   YAML pipeline configuration (default: config/pipeline.yaml)
  -h, --help            show this help
  -v, --version         print the version

Examples:
  langfuse-otel-receiver run --config config/pipeline.yaml
  LOG_LEVEL=debug langfuse-otel-receiver run --config my.yaml
  langfuse-otel-receiver validate --config config/examples/langfuse-v4.yaml
  langfuse-otel-receiver test config/examples/pipeline.tests.yaml

Exit codes:
  0  success (run: stopped cleanly; validate: valid; test: all passed)
  1  failure (a config problem, a failed test, a start or stop that failed, dead letters still failing)
  2  wrong usage (unknown command or option)

Signals (run): SIGTERM/SIGINT stop gracefully within service.shutdown_timeout (a second one
stops at once); SIGHUP reloads the configuration.`;

async function validate(file: string): Promise<number> {
  const { checkConfigFile } = await loadConfigChecks();
  const { problems } = await checkConfigFile(file);
  if (problems.length === 0) {
    process.stdout.write(`${file}: configuration is valid\n`);
    return 0;
  }
  for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
  process.stderr.write(`${problems.length} problem${problems.length === 1 ? "" : "s"} found\n`);
  return 1;
}

async function pipelineTests(files: string[], configOverride: string | undefined): Promise<number> {
  if (files.length === 0) {
    process.stderr.write("give one or more test files: langfuse-otel-receiver test tests.yaml\n");
    return 2;
  }
  const { runPipelineTests } = await import("./testing/pipeline-tests.js");
  let failed = 0;
  let passed = 0;
  for (const file of files) {
    const { outcomes, setupProblems } = await runPipelineTests(file, configOverride);
    for (const problem of setupProblems) process.stderr.write(`${problem}\n`);
    if (setupProblems.length > 0) failed += 1;
    for (const outcome of outcomes) {
      if (outcome.passed) {
        passed += 1;
        process.stdout.write(`ok    ${outcome.name}\n`);
      } else {
        failed += 1;
        process.stdout.write(`FAIL  ${outcome.name}\n${outcome.problems.map((problem) => `      ${problem}\n`).join("")}`);
      }
    }
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

async function deadLetters(file: string, replay: boolean): Promise<number> {
  const { checkConfigFile } = await loadConfigChecks();
  const { listDeadLetters, replayDeadLetters } = await import("./dead-letter-commands.js");
  const { config, problems } = await checkConfigFile(file);
  if (config === undefined) {
    for (const problem of problems) process.stderr.write(`${formatProblem(problem)}\n`);
    return 1;
  }
  if (replay) {
    const { createLogger } = await import("./logging.js");
    const logger = createLogger({ level: "warn", format: config.logs.format });
    const { replayed, failed } = await replayDeadLetters(config, logger);
    process.stdout.write(`replayed ${replayed} dead-letter file${replayed === 1 ? "" : "s"}, ${failed} still failing\n`);
    return failed === 0 ? 0 : 1;
  }
  for (const summary of await listDeadLetters(config)) {
    process.stdout.write(`${summary.pipeline}: ${summary.files.length} dead-letter file${summary.files.length === 1 ? "" : "s"} in ${summary.directory}\n`);
    for (const entry of summary.files) process.stdout.write(`  ${entry.name}  ${entry.groups} group${entry.groups === 1 ? "" : "s"}  ${entry.reasons.join("; ")}\n`);
  }
  return 0;
}

async function run(file: string): Promise<number> {
  const runPipelineHere = async () => (await import("./serve.js")).runPipelineProcess(file);
  if (cluster.isWorker) return runPipelineHere();
  const { plannedWorkerCount } = await import("./planned-workers.js");
  const planned = await plannedWorkerCount(file);
  if (planned === undefined || planned <= 1) return runPipelineHere();
  const { runPrimaryProcess } = await import("./primary-start.js");
  return runPrimaryProcess(file, runPipelineHere);
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c", default: "config/pipeline.yaml" },
        help: { type: "boolean", short: "h" },
        replay: { type: "boolean" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version || positionals[0] === "version") {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || command === undefined) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case "run":
      return run(values.config!);
    case "validate":
      return validate(values.config!);
    case "test":
      return pipelineTests(positionals.slice(1), argv.includes("--config") || argv.includes("-c") ? values.config : undefined);
    case "dead-letters":
      return deadLetters(values.config!, values.replay === true);
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Counts of repeated warnings still in their window would otherwise be lost (the module is
    // loaded already wherever a logger was made).
    void import("./logging.js").then(({ flushRepeatedLogs }) => flushRepeatedLogs());
    // A worker's IPC channel to the primary would keep it alive; the primary is waiting for its exit.
    if (process.connected) process.disconnect();
    // Every server and connection is closed by now, so the process ends on its own once pino has
    // flushed; the timer only guards against a library that keeps a handle open.
    setTimeout(() => process.exit(code), 3000).unref();
  },
  (error: unknown) => {
    process.stderr.write(`fatal: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
