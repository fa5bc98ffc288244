/** Programmable faults for the local stand-ins: answer N requests matching a path with a status, a delay, or silence. */
export interface Fault {
  /** Substring of "METHOD /path" that selects requests, e.g. "GET /v1/checkout/sessions". */
  match: string;
  /** Answer with this HTTP status (a Stripe- or SendGrid-shaped error body). */
  status?: number;
  /** The error message that goes with `status` (default "injected STATUS"). */
  message?: string;
  /** Wait this long before answering (or before applying `status`). */
  delayMs?: number;
  /** Never answer (the client's timeout decides). */
  hang?: boolean;
  /** Accept the request (side effects happen), then destroy the socket without answering. */
  acceptThenReset?: boolean;
  /** Accept the request (side effects happen), then answer with this status (a front end's 502). */
  acceptThenStatus?: number;
  /** Accept the request (side effects happen), then wait this long before answering. */
  delayAfterAcceptMs?: number;
  /** How many matching requests it applies to (default 1). */
  times?: number;
}

export class FaultPlan {
  private faults: (Fault & { left: number })[] = [];

  add(fault: Fault): void {
    this.faults.push({ ...fault, left: fault.times ?? 1 });
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault for this request, consuming one use of it. */
  take(method: string, path: string): Fault | undefined {
    const key = `${method} ${path}`;
    const fault = this.faults.find((f) => f.left > 0 && key.includes(f.match));
    if (!fault) return undefined;
    fault.left -= 1;
    return fault;
  }
}
