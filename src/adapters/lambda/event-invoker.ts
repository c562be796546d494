/**
 * Hands an event to another Lambda function without waiting for it (`InvocationType: Event`):
 * Lambda queues it, answers 202, and retries the function itself as its EventInvokeConfig says.
 * The upload handler hands its S3 notification to the fast-start function this way.
 */
import type { LambdaClient } from '@aws-sdk/client-lambda';

/** An asynchronous invocation's payload is at most 1 MB (Lambda's quota for the Event type); an S3 record is a few KB. */
export type EventInvoker = (event: unknown) => Promise<void>;

export function createLambdaEventInvoker(options: { lambda: () => Promise<LambdaClient>; functionName: string }): EventInvoker {
  return async (event) => {
    const [{ InvokeCommand }, lambda] = await Promise.all([import('@aws-sdk/client-lambda'), options.lambda()]);
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: options.functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
    // 202 is Lambda's "queued"; anything else means it was not.
    if (response.StatusCode !== 202) throw new Error(`Lambda did not queue the event for ${options.functionName} (status ${response.StatusCode})`);
  };
}
