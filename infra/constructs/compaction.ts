/**
 * Lake compaction: λ compact (FUNCTIONS.compact), which SCHEDULES.lakeCompaction runs hourly (the
 * Schedules construct), turns the lake's `events` JSON Lines into Parquet parts day by day and tags
 * the compacted objects for the lake's `expire-compacted-events` rule (docs/lake.md#compaction). Its
 * grants come from its definition: it reads, writes Parquet and manifests, tags — and deletes nothing.
 */
import { Construct } from 'constructs';
import { CairnFunction } from './cairn-function';
import type { Catalog } from './catalog';

export class LakeCompaction extends Construct {
  readonly compact: CairnFunction;

  constructor(scope: Construct, id: string, catalog: Catalog) {
    super(scope, id);
    this.compact = new CairnFunction(this, 'Compact', { name: 'compact', catalog });
  }
}
