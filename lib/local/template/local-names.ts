import { createHash } from 'node:crypto';

/**
 * Physical names for resources the template leaves unnamed, the way CloudFormation makes them
 * (`<stack>-<logicalId>`), but deterministic — the same on every start — so a data directory's tables,
 * queues and streams are found again after a restart. Names over a service's limit keep a hash suffix.
 */
export function localName(stackName: string, logicalId: string, maxLength: number, suffix = ''): string {
  const full = `${stackName}-${logicalId}`;
  const room = maxLength - suffix.length;
  if (full.length <= room) return `${full}${suffix}`;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, room - 9)}-${hash}${suffix}`;
}

/** S3 bucket names: 3–63 characters of lower-case letters, digits, dots and hyphens. */
export function localBucketName(stackName: string, logicalId: string): string {
  return localName(stackName.toLowerCase(), logicalId.toLowerCase(), 63).replace(/[^a-z0-9.-]/g, '-');
}
