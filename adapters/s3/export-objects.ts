import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { StreamfoldError } from '../../src/core/errors.js';
import type { ExportObjects } from '../../src/rebuild/ports.js';

/** `s3://bucket/prefix/AWSDynamoDB/<ExportId>` as a bucket and the key prefix of the export's root. */
export function parseS3Location(location: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/(.+?)\/*$/.exec(location.trim());
  if (match === null) {
    throw new StreamfoldError('CONFIGURATION', `${location} is not an S3 location: give s3://<bucket>/<prefix>/AWSDynamoDB/<ExportId>`, { field: '--from-export' });
  }
  return { bucket: match[1]!, prefix: match[2]! };
}

export const isS3Location = (location: string): boolean => location.startsWith('s3://');

/**
 * A DynamoDB export where AWS wrote it, read through the S3 client. A data file is asked for with `If-Match`
 * set to its manifest `etag`, so a file replaced since the export is refused by S3 itself.
 */
export class S3ExportObjects implements ExportObjects {
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(
    private readonly client: S3Client,
    readonly location: string,
  ) {
    ({ bucket: this.bucket, prefix: this.prefix } = parseS3Location(location));
  }

  async read(path: string, etag?: string): Promise<AsyncIterable<Uint8Array>> {
    const key = `${this.prefix}/${path}`;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, IfMatch: etag === undefined ? undefined : quoted(etag) }));
      if (response.Body === undefined) throw new StreamfoldError('MALFORMED_RECORD', `s3://${this.bucket}/${key} came back without a body`);
      return response.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      if (!(error instanceof S3ServiceException)) throw error;
      if (error.name === 'NoSuchKey' || error.$metadata.httpStatusCode === 404) {
        const hint = path === 'manifest-summary.json' ? ': give the export\'s root, s3://<bucket>/<prefix>/AWSDynamoDB/<ExportId>' : '';
        throw new StreamfoldError('CONFIGURATION', `s3://${this.bucket}/${key} does not exist${hint}`, { field: '--from-export', cause: error });
      }
      if (error.name === 'PreconditionFailed' || error.$metadata.httpStatusCode === 412) {
        throw new StreamfoldError('MALFORMED_RECORD', `s3://${this.bucket}/${key} is no longer the object the export wrote (its ETag is not ${etag}): the export was changed; export again`, { field: 'etag', cause: error });
      }
      throw error;
    }
  }
}

/** S3 compares `If-Match` with the quoted ETag; the manifest keeps it bare. */
const quoted = (etag: string): string => (etag.startsWith('"') ? etag : `"${etag}"`);

export function createS3Client(options: { readonly region?: string | undefined }): S3Client {
  return new S3Client({ region: options.region });
}
