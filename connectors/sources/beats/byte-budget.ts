/**
 * One budget of received bytes for the whole server, across every connection: what was read from
 * sockets and not yet acknowledged (undecoded input, a window being received, decoded windows
 * waiting for Kafka). A connection that finds the budget spent stops reading (TCP then pushes back
 * on its client) and waits in line; bytes freed by an acknowledged window or a closed connection
 * wake the waiters.
 *
 * When the budget is spent and no connection holds a whole window (so no acknowledgement will free
 * anything), the first waiter may read past the budget until it has a whole window: that one
 * overdraft is what keeps many half-received windows from waiting on each other for ever. Memory
 * held is therefore at most the budget, plus one window (`maxWindowBytes`), plus one socket read
 * (64 KiB) per connection that was reading when the budget ran out.
 */
export interface BudgetMember {
  /** bytes this connection holds now */
  readonly heldBytes: number;
  /** it holds whole windows that Kafka will acknowledge, which will free bytes */
  readonly hasWholeWindows: boolean;
  /** the budget lets it read again */
  wake(): void;
}

export class ByteBudget {
  private held = 0;
  private highest = 0;
  private readonly members = new Map<BudgetMember, number>();
  private readonly waiters: BudgetMember[] = [];
  private overdraft: BudgetMember | undefined;

  constructor(readonly limit: number) {}

  /** bytes held by all connections now */
  get used(): number {
    return this.held;
  }

  /** the most ever held at once */
  get peak(): number {
    return this.highest;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Record what `member` holds now; frees what it no longer holds and wakes waiters. */
  update(member: BudgetMember): void {
    const before = this.members.get(member) ?? 0;
    const now = member.heldBytes;
    this.members.set(member, now);
    this.held += now - before;
    if (this.held > this.highest) this.highest = this.held;
    if (this.overdraft === member && (member.hasWholeWindows || now === 0)) this.overdraft = undefined;
    if (now < before) this.wakeWaiters();
    else this.grantOverdraftIfStuck();
  }

  /** May `member` read more now? */
  allows(member: BudgetMember): boolean {
    return this.held < this.limit || this.overdraft === member;
  }

  /** `member` stopped reading for the budget: it is woken when there is room (or for the overdraft). */
  wait(member: BudgetMember): void {
    if (!this.waiters.includes(member)) this.waiters.push(member);
    this.grantOverdraftIfStuck();
  }

  /** The connection closed: everything it held is free. */
  leave(member: BudgetMember): void {
    this.held -= this.members.get(member) ?? 0;
    this.members.delete(member);
    const at = this.waiters.indexOf(member);
    if (at >= 0) this.waiters.splice(at, 1);
    if (this.overdraft === member) this.overdraft = undefined;
    this.wakeWaiters();
  }

  /** Under the budget again: every waiter reads again (each at most one socket read before it checks again). */
  private wakeWaiters(): void {
    if (this.held < this.limit) for (const member of this.waiters.splice(0)) member.wake();
    this.grantOverdraftIfStuck();
  }

  /**
   * Spent, with waiters, and nothing that Kafka's acknowledgements will free: let the first waiter
   * that has part of a window finish it (one that holds nothing needs no overdraft: it waits).
   */
  private grantOverdraftIfStuck(): void {
    if (this.overdraft || this.waiters.length === 0 || this.held < this.limit) return;
    for (const member of this.members.keys()) if (member.hasWholeWindows) return;
    const at = this.waiters.findIndex((member) => member.heldBytes > 0);
    if (at < 0) return;
    const [first] = this.waiters.splice(at, 1) as [BudgetMember];
    this.overdraft = first;
    first.wake();
  }
}
