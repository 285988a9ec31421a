// Short notices at the corner of the window (a move ended, a plan finished). They fade out by themselves;
// errors about an action are shown next to that action instead, not here.

export interface Notice {
  id: number;
  tone: 'info' | 'success' | 'warning' | 'error';
  text: string;
}

export class NotificationsService {
  notices = $state<Notice[]>([]);
  #next = 1;

  notify(tone: Notice['tone'], text: string, ttlMs = 8000): void {
    const id = this.#next++;
    this.notices = [...this.notices, { id, tone, text }].slice(-4);
    setTimeout(() => this.dismiss(id), ttlMs);
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }
}
