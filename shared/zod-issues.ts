// One readable sentence per schema problem, naming the field and why it was refused
// ("size: must be a positive whole number of bytes; name: unknown field"). Used by the control RPC,
// the bridge and every shell, so a refusal reads the same wherever it comes from.
import type { z } from 'zod';

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.map(String).join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.join(', ');
        return `${path ? `${path}: ` : ''}unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}`;
      }
      return `${path || 'params'}: ${issue.message}`;
    })
    .join('; ');
}
