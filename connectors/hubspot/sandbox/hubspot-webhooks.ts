// Turns contact changes into HubSpot webhook events (contact.creation, contact.propertyChange, contact.deletion,
// contact.privacyDeletion),
// batches them as HubSpot does (JSON arrays of up to 100 events per request), signs each attempt and hands them
// to the kit's WebhookDispatcher. attemptNumber lives in the body, so every retry carries a new body and signature.
import type { WebhookDispatcher } from '../../../src/sandbox';
import type { ContactChange } from './contact-store';
import { signedWebhookHeaders } from './webhook-signing';

export enum SubscriptionType {
  ContactCreation = 'contact.creation',
  ContactPropertyChange = 'contact.propertyChange',
  ContactDeletion = 'contact.deletion',
  ContactPrivacyDeletion = 'contact.privacyDeletion',
}

export interface HubSpotWebhookEvent {
  eventId: number;
  subscriptionId: number;
  portalId: number;
  appId: number;
  occurredAt: number;
  subscriptionType: SubscriptionType;
  attemptNumber: number;
  objectId: number;
  changeSource: string;
  changeFlag?: string;
  propertyName?: string;
  propertyValue?: string;
  sourceId?: string;
}

export const MAX_EVENTS_PER_REQUEST = 100;

/**
 * HubSpot retries up to 10 times, spread over 24 hours; these are the same ten steps scaled down to milliseconds
 * so a test can watch the whole schedule.
 */
export const HUBSPOT_RETRY_DELAYS_MS = [50, 100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600];

/** HubSpot does not retry these (the receiver said the request itself is unwanted); every other failure is retried. */
export const NOT_RETRIED_STATUSES = [400, 401, 403, 404, 405];

export interface HubSpotWebhookOptions {
  portalId: number;
  appId: number;
  clientSecret: string;
  /** Property names with a contact.propertyChange subscription; HubSpot subscribes per property. */
  propertyNames: string[];
  legacySignature: 'v1' | 'v2' | 'none';
}

export class HubSpotWebhooks {
  private buffer: HubSpotWebhookEvent[] = [];
  private scheduled = false;
  private nextEventId = 1;
  private readonly subscriptionIds = new Map<string, number>();

  constructor(
    private readonly dispatcher: WebhookDispatcher,
    public options: HubSpotWebhookOptions,
  ) {
    this.subscriptionIds.set(SubscriptionType.ContactCreation, 1001);
    this.subscriptionIds.set(SubscriptionType.ContactDeletion, 1002);
    this.subscriptionIds.set(SubscriptionType.ContactPrivacyDeletion, 1003);
    options.propertyNames.forEach((name, i) =>
      this.subscriptionIds.set(`${SubscriptionType.ContactPropertyChange}:${name}`, 1100 + i),
    );
  }

  /** The subscriptions this app has, as GET /webhooks/v3/{appId}/subscriptions would list them. */
  subscriptions(): { id: number; eventType: string; propertyName?: string; active: boolean }[] {
    return [...this.subscriptionIds.entries()].map(([key, id]) => {
      const [eventType, propertyName] = key.split(':');
      return propertyName ? { id, eventType, propertyName, active: true } : { id, eventType, active: true };
    });
  }

  reset(): void {
    this.buffer = [];
    this.nextEventId = 1;
  }

  record(change: ContactChange): void {
    // Seeding is an import; HubSpot sends no webhooks for the portal's initial state in this sandbox.
    if (change.source === 'IMPORT') return;
    const base = {
      portalId: this.options.portalId,
      appId: this.options.appId,
      occurredAt: change.at,
      attemptNumber: 0,
      objectId: change.record.id,
      changeSource: change.source,
    };
    if (change.kind === 'creation') {
      this.push({
        ...base,
        eventId: 0,
        subscriptionId: this.subscriptionIds.get(SubscriptionType.ContactCreation)!,
        subscriptionType: SubscriptionType.ContactCreation,
        changeFlag: 'CREATED',
      });
    } else if (change.kind === 'deletion') {
      this.push({
        ...base,
        eventId: 0,
        subscriptionId: this.subscriptionIds.get(SubscriptionType.ContactDeletion)!,
        subscriptionType: SubscriptionType.ContactDeletion,
        changeFlag: 'DELETED',
      });
    } else if (change.kind === 'privacyDeletion') {
      this.push({
        ...base,
        eventId: 0,
        subscriptionId: this.subscriptionIds.get(SubscriptionType.ContactPrivacyDeletion)!,
        subscriptionType: SubscriptionType.ContactPrivacyDeletion,
        changeFlag: 'DELETED',
      });
    } else {
      const subscriptionId = this.subscriptionIds.get(
        `${SubscriptionType.ContactPropertyChange}:${change.name}`,
      );
      if (subscriptionId === undefined) return;
      this.push({
        ...base,
        eventId: 0,
        subscriptionId,
        subscriptionType: SubscriptionType.ContactPropertyChange,
        propertyName: change.name,
        propertyValue: change.value,
      });
    }
  }

  /** Sends everything buffered now (normally done in a microtask after the change). */
  drain(): void {
    this.scheduled = false;
    while (this.buffer.length > 0) this.dispatch(this.buffer.splice(0, MAX_EVENTS_PER_REQUEST));
  }

  private push(e: HubSpotWebhookEvent): void {
    e.eventId = this.nextEventId++;
    this.buffer.push(e);
    // One API call's events leave together, before its response reaches the client.
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private dispatch(events: HubSpotWebhookEvent[]): void {
    const opts = this.options;
    const dispatcher = this.dispatcher;
    const bodyFor = (attempt: number): string =>
      JSON.stringify(events.map((e) => ({ ...e, attemptNumber: attempt - 1 })));
    let current = bodyFor(1);
    // The kit calls sign(attempt) and then reads `body` for the same attempt; the getter hands it the body with
    // that attempt's attemptNumber, which HubSpot puts in the payload (and therefore in the signature).
    const delivery = {
      id: `hubspot-${events[0].eventId}-${events[events.length - 1].eventId}`,
      contentType: 'application/json',
      headers: {},
      get body(): string {
        return current;
      },
      sign: (attempt: number): Record<string, string> => {
        current = bodyFor(attempt);
        return {
          'User-Agent': 'HubSpot Connect 2.0 (http://dev.hubspot.com/)',
          // v2/v3 sign the URL the request goes to now, which admin may have changed since the event.
          ...signedWebhookHeaders({
            clientSecret: opts.clientSecret,
            url: dispatcher.config.url ?? '',
            body: current,
            legacyVersion: opts.legacySignature,
          }),
        };
      },
    };
    this.dispatcher.send(delivery);
  }
}
