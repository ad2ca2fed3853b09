/**
 * The live feed (GET /admin/events, Server-Sent Events). EventSource reconnects by itself when a
 * stream ends (an ingest restarted) and sends Last-Event-ID, so the missed changes come first. When
 * a reconnect is refused outright (503: Redis down, the replica full) EventSource gives up; then
 * this opens a new one after a pause, resuming from the last id it saw (?last_event_id=).
 */
export class LiveFeed {
  constructor({ onChanges, onReset, onHello, onState }) {
    this.handlers = { onChanges, onReset, onHello, onState };
    this.lastId = null;
    this.source = null;
    this.retry = null;
  }

  start() {
    const url = this.lastId ? `/admin/events?last_event_id=${encodeURIComponent(this.lastId)}` : '/admin/events';
    const source = new EventSource(url);
    this.source = source;
    this.handlers.onState('connecting');
    source.addEventListener('hello', (event) => {
      if (event.lastEventId) this.lastId = event.lastEventId;
      this.handlers.onState('live');
      this.handlers.onHello();
    });
    source.addEventListener('signals', (event) => {
      if (event.lastEventId) this.lastId = event.lastEventId;
      let changes;
      try {
        changes = JSON.parse(event.data);
      } catch {
        return;
      }
      if (Array.isArray(changes)) this.handlers.onChanges(changes);
    });
    source.addEventListener('reset', () => this.handlers.onReset());
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        this.handlers.onState('reconnecting');
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.start(), 3000);
      } else {
        this.handlers.onState('reconnecting');
      }
    });
  }
}
