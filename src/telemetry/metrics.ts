import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Histogram, register } from "prom-client";

/**
 * The daemon's Prometheus metrics, in the process's default registry (node:cluster aggregates
 * the workers' registries in the primary). Labels are bounded: component and pipeline ids from
 * the config, fixed outcome and reason values; never trace, project or key ids.
 */
const PREFIX = "langfuse_otel_receiver_";

let defaultMetricsStarted = false;

/** Node process metrics (CPU, memory, event loop lag, GC), once per process. */
export function collectProcessMetrics(): void {
  if (defaultMetricsStarted) return;
  defaultMetricsStarted = true;
  collectDefaultMetrics({ prefix: PREFIX });
}

/**
 * In a worker process: answer the primary's scrape requests. prom-client installs the responder
 * only when an AggregatorRegistry is created in the worker.
 */
export function answerClusterScrapes(): void {
  collectProcessMetrics();
  new AggregatorRegistry();
}

function counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  return (register.getSingleMetric(PREFIX + name) as Counter<L> | undefined) ?? new Counter({ name: PREFIX + name, help, labelNames });
}

function gauge<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  return (register.getSingleMetric(PREFIX + name) as Gauge<L> | undefined) ?? new Gauge({ name: PREFIX + name, help, labelNames });
}

function histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
  return (register.getSingleMetric(PREFIX + name) as Histogram<L> | undefined) ?? new Histogram({ name: PREFIX + name, help, labelNames, buckets });
}

/** The metrics components count through; handed to them in their settings. */
export type DaemonMetrics = typeof metrics;

export const metrics = {
  receiverRequests: counter("receiver_requests_total", "Requests by receiver, transport and outcome (accepted, refused: the client's fault or overload, failed: ours or a backend's).", [
    "receiver",
    "transport",
    "outcome",
  ] as const),
  receiverItems: counter("receiver_items_total", "Spans (OTLP) or events (ingestion API) in requests, by outcome: accepted or rejected (partial success, per-event errors).", [
    "receiver",
    "item",
    "outcome",
  ] as const),
  requestDuration: histogram(
    "request_duration_seconds",
    "Time from a request's arrival to its answer.",
    ["receiver", "transport"] as const,
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  ),
  processorEvents: counter("processor_events_total", "Events leaving each processor: passed, or dropped with the reason (validation, auth, sampling, sdk_log).", [
    "pipeline",
    "processor",
    "outcome",
    "reason",
  ] as const),
  redactions: counter("redactions_total", "Replacements made by each redact processor, by rule (a detector, `pattern:<name>`, `key:<glob>`, `too_deep`); what was matched is never recorded.", [
    "pipeline",
    "processor",
    "rule",
  ] as const),
  maskingCallbackDuration: histogram(
    "masking_callback_duration_seconds",
    "Time of each attempt to call the masking callback, by HTTP status (or `error`, `timeout`, `invalid`) and attempt (1, 2, …).",
    ["processor", "status", "attempt"] as const,
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  ),
  maskingCallbackRequests: counter(
    "masking_callback_requests_total",
    "Requests sent to the masking callback, by outcome: masked, or failed (after every attempt) and then stored unmasked (fail_open) or refused (fail_closed).",
    ["processor", "outcome"] as const,
  ),
  filterDrops: counter("filter_dropped_total", "Spans or native observations dropped by each filter processor, by rule: its name (`keep_<n>`/`drop_<n>` by default), `not_kept` (no keep rule selected it) or `orphan` (a dropped span's child, orphans: drop).", [
    "pipeline",
    "processor",
    "rule",
  ] as const),
  exporterGroups: counter("exporter_groups_total", "Groups (one object or one job each) by exporter and outcome.", ["exporter", "outcome"] as const),
  spoolBytes: gauge("spool_pending_bytes", "Bytes in the spool waiting for export.", ["pipeline"] as const),
  spoolRecords: gauge("spool_pending_records", "Records in the spool waiting for export.", ["pipeline"] as const),
  spoolOldestAge: gauge("spool_oldest_record_age_seconds", "Age of the oldest record waiting for export.", ["pipeline"] as const),
  spoolRetries: counter("spool_export_retries_total", "Export attempts repeated after a retryable failure.", ["pipeline"] as const),
  spoolDeadLetters: counter("spool_dead_letter_groups_total", "Groups moved to the dead letters.", ["pipeline"] as const),
  configReloads: counter("config_reloads_total", "Configuration reloads (SIGHUP or a changed file), by outcome: applied or failed (the old configuration stays).", ["outcome"] as const),
  refusals: counter("refusals_total", "Requests refused to protect the daemon, by reason (spool_full, memory, rate_limit).", ["reason"] as const),
  // Langfuse's own ingestion counters, under Prometheus-legal names.
  langfuseIngestionEvents: counter("langfuse_ingestion_event_total", "Langfuse's langfuse.ingestion.event: events received, by source.", ["source"] as const),
  langfuseEventDistribution: histogram(
    "langfuse_ingestion_event_distribution",
    "Langfuse's langfuse.ingestion.event_distribution: events per request, by source.",
    ["source"] as const,
    [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
  ),
  langfuseSampling: counter("langfuse_ingestion_sampling_total", "Langfuse's langfuse.ingestion.sampling: events by sampling decision.", ["sampling_decision"] as const),
};
