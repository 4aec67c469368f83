/**
 * Waits as EventBridge Scheduler one-time schedules (`at(...)`, ActionAfterCompletion DELETE) in the
 * journeys schedule group, targeting λ journey with `{journeyId, profileId, runId, stepId, kind:
 * 'resume'}`. Names are derived from run and step, so creating one twice (a retry) is a no-op.
 * The group belongs to the deployment: the CDK creates it on AWS, the local stack when it starts.
 */
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand } from '@aws-sdk/client-scheduler';
import { scheduler } from '../aws/clients';
import { ENV } from '../config';
import { CairnError } from '../errors';

export interface ResumeInput {
  journeyId: string;
  profileId: string;
  runId: string;
  stepId: string;
  kind: 'resume';
  /** A held run's re-check number (docs/journeys.md#pause-resume-archive); absent for a wait's own end. */
  hold?: number;
}

export interface WaitScheduler {
  create(name: string, at: number, input: ResumeInput, targetArn: string): Promise<void>;
  cancel(name: string): Promise<void>;
}

/** Where waits are scheduled (functions/journey reads it from its environment). */
export interface WaitSchedules {
  /** The journeys schedule group (CAIRN_JOURNEY_SCHEDULE_GROUP). */
  group: string;
  /** The role Scheduler assumes to invoke λ journey (CAIRN_JOURNEY_SCHEDULER_ROLE_ARN); unset: no wait can be scheduled. */
  role: string | undefined;
}

const isName = (e: unknown, name: string) => (e as Error)?.name === name;

/** `at(yyyy-mm-ddThh:mm:ss)` in UTC, rounded up to the next whole second. */
export function atExpression(ms: number): string {
  return `at(${new Date(Math.ceil(ms / 1000) * 1000).toISOString().slice(0, 19)})`;
}

export class SchedulerWaits implements WaitScheduler {
  constructor(readonly where: WaitSchedules) {}

  async create(name: string, at: number, input: ResumeInput, targetArn: string): Promise<void> {
    const { group, role } = this.where;
    if (!role) throw new CairnError('journey_scheduler_unset', `${ENV.journeySchedulerRole} is not set: waits cannot be scheduled`, 500);
    const cmd = () =>
      new CreateScheduleCommand({
        Name: name,
        GroupName: group,
        ScheduleExpression: atExpression(at),
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Description: `Cairn journey ${input.journeyId}: ${input.hold === undefined ? 'resume after' : 'held at'} ${input.stepId}`,
        Target: { Arn: targetArn, RoleArn: role, Input: JSON.stringify(input), RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 } },
      });
    try {
      await scheduler().send(cmd());
    } catch (e) {
      if (e instanceof ConflictException || isName(e, 'ConflictException')) return; // already scheduled (a retry)
      if (isName(e, 'ResourceNotFoundException')) {
        // The group is part of the deployment (CDK on AWS, the local stack at start): the role may not create it.
        throw new CairnError(
          'journey_schedule_group_missing',
          `schedule group ${group} does not exist: deploy the stack (or restart the local stack) to create it`,
          500,
        );
      }
      throw e;
    }
  }

  async cancel(name: string): Promise<void> {
    try {
      await scheduler().send(new DeleteScheduleCommand({ Name: name, GroupName: this.where.group }));
    } catch (e) {
      if (!isName(e, 'ResourceNotFoundException')) throw e;
    }
  }
}
