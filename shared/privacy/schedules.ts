/** Journey wait schedules of erased people, deleted in EventBridge Scheduler (the `WaitSchedules` of shared/privacy/ports.ts). */
import { DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import { scheduler } from '../aws/clients';
import type { WaitSchedules } from './ports';

export class SchedulerWaitSchedules implements WaitSchedules {
  constructor(private readonly group: string) {}

  async delete(name: string): Promise<boolean> {
    try {
      await scheduler().send(new DeleteScheduleCommand({ Name: name, GroupName: this.group }));
      return true;
    } catch (e) {
      if ((e as Error).name === 'ResourceNotFoundException') return false;
      throw e;
    }
  }
}
