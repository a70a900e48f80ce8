import { toast } from 'sonner';
import { ApiError } from '../api/client';
import type { ProtocolErrorMessage } from '../protocol/control';

/** Every failure the user caused or suffers ends up here: never a silent failure. */
export function showError(error: unknown, context?: string): void {
  const prefix = context ? `${context}: ` : '';
  if (error instanceof ApiError) {
    toast.error(`${prefix}${error.message}`, { description: `code: ${error.code}` });
  } else if (error instanceof Error) {
    toast.error(`${prefix}${error.message}`);
  } else {
    toast.error(`${prefix}${String(error)}`);
  }
}

export function showProtocolError(error: ProtocolErrorMessage): void {
  toast.error(error.message || error.code, { description: `code: ${error.code}` });
}
