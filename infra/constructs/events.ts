/**
 * The Cairn event bus (docs/api.md#events-on-the-bus). Later stages publish profile, segment and journey events
 * here, and journeys compile to rules on it.
 */
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { BUS } from '#shared/config';
import type { Catalog } from './catalog';

export class Events extends Construct {
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: catalog.settings.name(BUS.name),
      description: `Cairn pipeline events (source ${BUS.source})`,
    });
    catalog.bus = this.bus;
  }
}
