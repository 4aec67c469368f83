/**
 * Lake compaction: λ compact (FUNCTIONS.compact), which SCHEDULES.lakeCompaction runs hourly (the
 * Schedules construct), turns the lake's `events` JSON Lines into Parquet parts day by day and moves
 * the compacted objects to raw/events/ (docs/lake.md#compaction). Its grants come from its definition.
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
