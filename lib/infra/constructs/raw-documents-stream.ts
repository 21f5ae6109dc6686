import { Duration, Validations } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { Profile } from '../config.ts';
import type { StreamSpec } from '../topology.ts';

export interface RawDocumentsStreamProps {
  spec: StreamSpec;
  profile: Profile;
  key: kms.IKey;
}

/** The raw-documents Kinesis stream: claim-check records of every accepted document, KMS-encrypted. */
export class RawDocumentsStream extends Construct {
  readonly stream: kinesis.Stream;

  constructor(scope: Construct, id: string, props: RawDocumentsStreamProps) {
    super(scope, id);
    const provisioned = props.profile.stream.mode === 'provisioned';
    this.stream = new kinesis.Stream(this, 'Stream', {
      streamMode: provisioned ? kinesis.StreamMode.PROVISIONED : kinesis.StreamMode.ON_DEMAND,
      ...(provisioned ? { shardCount: props.profile.stream.shardCount } : {}),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: props.key,
      retentionPeriod: Duration.hours(
        Math.max(props.spec.retentionHours, props.profile.retention.streamHours),
      ),
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-KDS3',
      reason:
        'A customer-managed key is required: one rotated key whose policy the operator controls encrypts every store of the pipeline.',
    });
  }
}
