/**
 * The reconciler's Lambda, on an EventBridge schedule (template.yaml: ReconcileFunction, every
 * ReconcilePeriodMinutes): one run of src/domain/reconciler.ts, the same code the local stack runs on a
 * timer. Each action is a log line; the run's counts also go out as one CloudWatch Embedded
 * Metric Format record, so they are metrics (namespace VideoOnDemand/Reconciler) without any
 * PutMetricData call. A run that throws is retried at the next tick.
 */
import pino from 'pino';
import { ScheduledEvent } from '../src/schemas/events.ts';
import { eventParser } from './parse-event.ts';
import type { ReconcileReport } from '../src/domain/reconciler.ts';
import type { Services } from '../src/app/services.ts';
import type { Config } from '../src/app/config.ts';
import { servicesFromEnvironment } from '../src/app/runtime.ts';
import { redactingDestination } from '../src/shared/redact.ts';

export const METRICS_NAMESPACE = 'VideoOnDemand/Reconciler';

/** The run's counts as one EMF record (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html). */
export function metricsRecord(report: ReconcileReport, timestamp: number): Record<string, unknown> {
  const metrics = {
    Checked: report.checked,
    ObjectsDeleted: report.objectsDeleted,
    ...Object.fromEntries(Object.entries(report.actions).map(([action, count]) => [action, count])),
  };
  return {
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [{ Namespace: METRICS_NAMESPACE, Dimensions: [[]], Metrics: Object.keys(metrics).map((Name) => ({ Name, Unit: 'Count' })) }],
    },
    ...metrics,
  };
}

export function createReconcileHandler(
  services: Pick<Services, 'reconcile'>,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  level: Config['LOG_LEVEL'] = 'info',
) {
  const logger = pino({ level, base: { fn: 'reconcile' } }, redactingDestination(process.stdout));
  return async (): Promise<ReconcileReport> => {
    const report = await services.reconcile(logger);
    write(JSON.stringify(metricsRecord(report, Date.now())));
    return report;
  };
}

/** Lambda's entry: the schedule's event says only that it is time (see ScheduledEvent). */
let reconcile: ReturnType<typeof createReconcileHandler> | undefined;
const parseScheduledEvent = eventParser('EventBridge Scheduled Event', ScheduledEvent);
export const handler = (event: ScheduledEvent) => {
  // Nothing is read from it, but only the schedule's own event may start a run.
  parseScheduledEvent(event);
  // Built at the first run of a container, as the other functions build their app once.
  if (!reconcile) {
    const { config, services } = servicesFromEnvironment();
    reconcile = createReconcileHandler(services, undefined, config.LOG_LEVEL);
  }
  return reconcile();
};
