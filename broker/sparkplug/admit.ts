// Hands the contract messages made from one Sparkplug publish to admission, with the Sparkplug problems as one
// dead letter, and calls back once, after every part is durable (or with the first spool error: then the
// publish is not acknowledged and the edge node sends it again). The dead letters keep the Sparkplug topic.
import type { Problem } from '../../common/contract/messages.ts';
import type { MessageKind } from '../../common/contract/topics.ts';
import type { Admission, AdmissionDevice } from '../../common/admission/admission.ts';

export interface ContractPart {
  kind: MessageKind;
  payload: Buffer;
}

/** The problems of one publish as one (admission keeps one dead letter per refusal, and counts one rejection). */
export function combined(problems: readonly Problem[]): Problem {
  const first = problems[0]!;
  if (problems.length === 1) return first;
  return { field: first.field, rule: first.rule, message: problems.map((p) => p.message).join('; ') };
}

export function admitParts(
  admission: Admission, device: AdmissionDevice, topic: string, raw: Buffer, parts: readonly ContractPart[], problems: readonly Problem[],
  done: (err: Error | null, problems: Problem[]) => void,
): void {
  const reported: Problem[] = [...problems];
  let waiting = parts.length + (problems.length > 0 ? 1 : 0);
  let failure: Error | null = null;
  if (waiting === 0) return done(null, reported);
  const settle = (err: Error | null): void => {
    failure ??= err;
    if (--waiting === 0) done(failure, reported);
  };
  if (problems.length > 0) admission.refuse(device.ctx, topic, raw, combined(problems), settle);
  for (const part of parts) {
    admission.admit(device, part.kind, topic, part.payload, (err, verdict) => {
      reported.push(...verdict.problems);
      settle(err);
    });
  }
}
