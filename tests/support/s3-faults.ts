/**
 * S3 failures injected into the shared client (what λ erase meets on AWS without s3:DeleteObject):
 * DeleteObject of one key answers 403 AccessDenied until `s3().middlewareStack.remove(DENY_DELETE)`.
 */
import { s3 } from '#shared/aws/clients';

export const DENY_DELETE = 'testDenyDeleteObject';

export function denyDelete(key: string): { calls: number } {
  const seen = { calls: 0 };
  s3().middlewareStack.add(
    (next: any, context: any) => async (args: any) => {
      if (context.commandName === 'DeleteObjectCommand' && args.input?.Key === key) {
        seen.calls++;
        throw Object.assign(new Error('Access Denied'), {
          name: 'AccessDenied',
          $fault: 'client',
          $metadata: { httpStatusCode: 403, attempts: 1, totalRetryDelay: 0 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: DENY_DELETE },
  );
  return seen;
}
