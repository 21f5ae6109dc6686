import { z } from 'zod';

/** A CloudFormation custom resource request, as CloudFormation (or the local runtime) sends it. */
export const CustomResourceEventSchema = z
  .object({
    RequestType: z.enum(['Create', 'Update', 'Delete']),
    ResponseURL: z.string().url(),
    StackId: z.string(),
    RequestId: z.string(),
    LogicalResourceId: z.string(),
    PhysicalResourceId: z.string().optional(),
    ResourceType: z.string(),
    ResourceProperties: z.record(z.string(), z.unknown()),
    OldResourceProperties: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type CustomResourceEvent = z.infer<typeof CustomResourceEventSchema>;

export interface CustomResourceResult {
  physicalResourceId: string;
  data?: Record<string, string>;
}

type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Run a custom resource's work and always answer CloudFormation: SUCCESS with its result, or FAILED with
 * the error's message as the reason (a deploy then rolls back with that reason instead of waiting an hour).
 * The answer is a PUT of JSON to the pre-signed ResponseURL with no content type, as S3 requires.
 */
export async function respondTo(
  event: CustomResourceEvent,
  work: () => Promise<CustomResourceResult>,
  fetchImpl: FetchLike = fetch,
): Promise<void> {
  let body: Record<string, unknown>;
  try {
    const result = await work();
    body = { Status: 'SUCCESS', PhysicalResourceId: result.physicalResourceId, Data: result.data ?? {} };
  } catch (error) {
    body = {
      Status: 'FAILED',
      // CloudFormation keeps at most 4 KB of a response; the reason is what an operator reads.
      Reason: (error instanceof Error ? error.message : String(error)).slice(0, 2000),
      PhysicalResourceId: event.PhysicalResourceId ?? `${event.LogicalResourceId}-failed`,
    };
  }
  const response = JSON.stringify({
    ...body,
    StackId: event.StackId,
    RequestId: event.RequestId,
    LogicalResourceId: event.LogicalResourceId,
  });
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      const answer = await fetchImpl(event.ResponseURL, {
        method: 'PUT',
        body: response,
        headers: { 'content-type': '', 'content-length': String(Buffer.byteLength(response)) },
      });
      if (answer.ok) return;
      lastError = new Error(`ResponseURL answered ${answer.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
  throw lastError;
}
