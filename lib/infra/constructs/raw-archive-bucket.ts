import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Profile } from '../config.ts';
import type { BucketSpec } from '../topology.ts';

export interface RawArchiveBucketProps {
  spec: BucketSpec;
  profile: Profile;
  key: kms.IKey;
}

/**
 * The raw archive: every accepted document byte for byte (the claim check points here). KMS, versioned,
 * private, TLS-only, moved to infrequent access and expired per profile; its access is logged to a second
 * bucket.
 */
export class RawArchiveBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: RawArchiveBucketProps) {
    super(scope, id);
    // Deliver access logs through a bucket policy rather than the legacy LogDeliveryWrite ACL.
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const expireDays = Math.max(props.profile.retention.rawArchiveDays, props.spec.transitionToIaDays + 30);
    // S3 server access logging only delivers to SSE-S3 buckets, hence no KMS key here.
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        { expiration: Duration.days(expireDays), noncurrentVersionExpiration: Duration.days(30) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // exactOptionalPropertyTypes sees Bucket's optional fields as incompatible with IBucket's; they are not.
      serverAccessLogsBucket: this.accessLogs as unknown as s3.IBucket,
      serverAccessLogsPrefix: 'raw-archive/',
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(props.spec.transitionToIaDays),
            },
          ],
          expiration: Duration.days(expireDays),
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
