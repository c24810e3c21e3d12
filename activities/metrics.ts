import { Context } from '@temporalio/activity';

/**
 * sddc-ops' own metrics, through the SDK's meter: the worker's Prometheus endpoint (--metrics)
 * serves them beside the SDK's. Recording never fails an activity.
 */
function meter() {
  try {
    return Context.current().metricMeter;
  } catch {
    return undefined; // not in an activity (a test calling the function directly)
  }
}

export function recordVerified(product: 'NSX' | 'vCenter', bytes: number, seconds: number): void {
  const m = meter();
  m?.createCounter('sddc_bytes_verified', 'bytes', 'Bytes of backup files hashed and checked over SFTP').add(bytes, { product });
  m?.createHistogram('sddc_verification_seconds', 'float', 's', 'How long verifying one product backup took').record(seconds, { product });
}

export function recordNewestGoodAge(site: string, ageSeconds: number | undefined): void {
  if (ageSeconds === undefined) return;
  meter()?.createGauge('sddc_newest_good_set_age_seconds', 'float', 's', 'Age of the newest complete, verified backup set').set(ageSeconds, { site });
}
