/** Per-user sliding window: at most `limit` events in any `windowMs`. */
export class UserRateLimiter {
  private readonly events = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts an event for the user if allowed; otherwise says how long until the next one is. */
  take(userId: string, now = Date.now()): { ok: true } | { ok: false; retryAfterMs: number } {
    const recent = (this.events.get(userId) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= this.limit) {
      this.events.set(userId, recent);
      return { ok: false, retryAfterMs: recent[0]! + this.windowMs - now };
    }
    recent.push(now);
    this.events.set(userId, recent);
    // Forget idle users now and then so the map does not grow with every member ever seen.
    if (this.events.size > 10_000) for (const [id, times] of this.events) if (times.every((t) => now - t >= this.windowMs)) this.events.delete(id);
    return { ok: true };
  }
}
