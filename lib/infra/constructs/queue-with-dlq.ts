import { Duration, Validations } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueSpec } from '../topology.ts';

export interface QueueWithDlqProps {
  spec: QueueSpec;
  key: kms.IKey;
  /** At least 6x the consumer's timeout (topology.visibilityTimeoutSeconds). */
  visibilityTimeoutSeconds: number;
}

/**
 * A work queue and its dead-letter queue, both KMS-encrypted and TLS-only. A FIFO spec makes both FIFO
 * (a FIFO queue's DLQ must be FIFO too); CloudFormation gives their generated names the `.fifo` suffix.
 * The queue type cannot change in place: switching a spec to FIFO replaces both queues on deploy.
 */
export class QueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly dlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: QueueWithDlqProps) {
    super(scope, id);
    const encryption = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      // Data keys reused for 5 minutes: far fewer KMS calls at volume.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
    };
    // High-throughput FIFO: deduplication and the throughput quota apply per message group, so many groups
    // move in parallel (the DLQ too, so a burst of failures or a redrive is not held to the per-queue quota).
    // The producer sets a deterministic MessageDeduplicationId, so a retried send is dropped without SQS
    // hashing bodies.
    const fifo =
      props.spec.fifo === true
        ? {
            fifo: true,
            deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
            fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            contentBasedDeduplication: false,
          }
        : {};
    this.dlq = new sqs.Queue(this, 'Dlq', {
      ...encryption,
      ...fifo,
      retentionPeriod: Duration.days(props.spec.dlqRetentionDays),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      ...encryption,
      ...fifo,
      retentionPeriod: Duration.days(props.spec.retentionDays),
      visibilityTimeout: Duration.seconds(props.visibilityTimeoutSeconds),
      deadLetterQueue: { queue: this.dlq, maxReceiveCount: props.spec.maxReceiveCount },
    });
    Validations.of(this.dlq).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is a dead-letter queue; messages are redriven from it by an operator, never to another DLQ.',
    });
  }
}
