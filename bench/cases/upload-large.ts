/**
 * Upload, new, large: one file to S3 (Ceph RGW), ours (multipart from file ranges) against
 * `aws s3 cp`. Sizes side by side show whether peak memory grows with the file.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { BenchCase } from '../lib/case.ts';
import type { BenchContext } from '../lib/context.ts';

export function uploadLargeCases(context: BenchContext, sizes: readonly number[]): BenchCase[] {
  return sizes.map((size) => {
    const label = context.sizeLabel(size);
    const file = context.dataFile(`upload-${label}.jar`, size);
    return {
      id: `upload-large-${label}`,
      title: `Upload, new: 1 × ${label} to S3`,
      rounds: context.rounds,
      contenders: [
        {
          name: 'flink-artifacts upload',
          ours: true,
          async command(round) {
            return context.ours(['upload', `local://${await file}`, `-Dkubernetes.artifacts.local-upload-target=s3://${context.bucket}/ours-${label}-${round}/`]);
          },
        },
        {
          name: 'aws s3 cp',
          ours: false,
          async command(round) {
            return context.aws(['s3', 'cp', '--quiet', await file, `s3://${context.bucket}/aws-${label}-${round}/upload-${label}.jar`]);
          },
        },
      ],
      async verify(contender, round) {
        const key = contender === 'aws s3 cp' ? `aws-${label}-${round}/upload-${label}.jar` : `ours-${label}-${round}/upload-${label}.jar`;
        const head = await context.s3.send(new HeadObjectCommand({ Bucket: context.bucket, Key: key }));
        if (head.ContentLength !== size) throw new Error(`${contender}: ${key} has ${head.ContentLength} bytes, expected ${size}`);
      },
    };
  });
}
