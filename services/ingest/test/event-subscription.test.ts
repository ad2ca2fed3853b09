import { EventSubscription } from '../src/live/event-subscription';

describe("one browser's live-feed subscription", () => {
  it('sends the greeting and catch-up first, then only live frames newer than the catch-up', async () => {
    const subscription = new EventSubscription(10, () => undefined);
    subscription.push('live-5', '5-0');
    subscription.push('live-7', '7-0');
    subscription.startWith(['hello', 'caught-up-6'], '6-0');
    subscription.push('live-6-again', '6-0');
    subscription.push('live-8', '8-0');
    const sent: string[] = [];
    for (let i = 0; i < 4; i++) sent.push((await subscription.next()).value as string);
    expect(sent).toEqual(['hello', 'caught-up-6', 'live-7', 'live-8']);
  });

  it('hands frames to a reader in order and ends when the reader stops', async () => {
    const left: EventSubscription[] = [];
    const subscription = new EventSubscription(10, (s) => left.push(s));
    subscription.startWith(['hello'], '6-0');
    subscription.push('live-5', '5-0');
    subscription.push('live-7', '7-0');
    subscription.push(': heartbeat');
    const sent: string[] = [];
    for await (const frame of subscription) {
      sent.push(frame);
      if (sent.length === 3) break;
    }
    expect(sent).toEqual(['hello', 'live-7', ': heartbeat']);
    expect(left).toEqual([subscription]);
    subscription.push('late', '9-0');
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
  });

  it('cuts off a browser that falls too far behind, holding nothing for it', async () => {
    const left: EventSubscription[] = [];
    const subscription = new EventSubscription(3, (s) => left.push(s));
    subscription.startWith([], null);
    for (let i = 1; i <= 4; i++) subscription.push(`frame-${i}`, `${i}-0`);
    expect(left).toEqual([subscription]);
    expect(await subscription.next()).toEqual({ value: undefined, done: true });
  });
});
