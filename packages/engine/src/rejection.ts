import type { RejectCode } from "./types.js";

/** A business rejection: data, never an exception. */
export interface Rejection {
  code: RejectCode;
  message: string;
}

export function reject(code: RejectCode, message: string): Rejection {
  return { code, message };
}
