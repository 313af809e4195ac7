/**
 * The pipeline load test for k6 (≥ 1.0, which runs TypeScript natively):
 *
 *   k6 run -e PROFILE=../profiles/steady.json -e BASE_URL=http://localhost:8080 packages/load/k6/pipeline.ts
 *
 * It reads the same profile JSON as the embedded driver, builds its scenario and thresholds from it, and
 * asks the same plan module (imported by relative path, since k6 has neither Node modules nor npm) for
 * each iteration's request, so both drivers issue the same requests in the same order. Environment:
 * PROFILE (path, relative to this file; default the smoke profile), BASE_URL (default
 * http://localhost:8080), RUN_ID (batch id prefix; default generated once in setup()), SEED (default the
 * profile's).
 */
import exec from 'k6/execution';
import http from 'k6/http';
import type { Options, Scenario } from 'k6/options';
import { RequestPlan, toHttp, type PlanProfile } from '../src/plan.ts';

type Arrival =
  | {
      executor: 'constant-arrival-rate';
      rate: number;
      timeUnit?: string;
      duration: string;
      preAllocatedVUs: number;
      maxVUs: number;
    }
  | {
      executor: 'ramping-arrival-rate';
      startRate?: number;
      timeUnit?: string;
      stages: { target: number; duration: string }[];
      preAllocatedVUs: number;
      maxVUs: number;
    };

/** The profile as JSON; the embedded driver validates it with zod (src/profile.ts), k6 trusts it. */
interface ProfileJson extends PlanProfile {
  name: string;
  arrival: Arrival;
  thresholds: Record<string, string[]>;
}

const profile = JSON.parse(open(__ENV.PROFILE ?? '../profiles/smoke.json')) as ProfileJson;
const baseUrl = (__ENV.BASE_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
const seed = __ENV.SEED === undefined ? profile.seed : Number(__ENV.SEED);

function scenario(arrival: Arrival): Scenario {
  // Same executor and parameters as the profile; k6's gracefulStop default (30s) matches the driver's.
  if (arrival.executor === 'constant-arrival-rate') {
    return {
      executor: 'constant-arrival-rate',
      rate: arrival.rate,
      timeUnit: arrival.timeUnit ?? '1s',
      duration: arrival.duration,
      preAllocatedVUs: arrival.preAllocatedVUs,
      maxVUs: arrival.maxVUs,
    };
  }
  return {
    executor: 'ramping-arrival-rate',
    startRate: arrival.startRate ?? 0,
    timeUnit: arrival.timeUnit ?? '1s',
    stages: arrival.stages,
    preAllocatedVUs: arrival.preAllocatedVUs,
    maxVUs: arrival.maxVUs,
  };
}

export const options: Options = {
  scenarios: { [profile.name]: scenario(profile.arrival) },
  thresholds: profile.thresholds,
};

interface SetupData {
  runId: string;
}

/** Runs once: the run id every VU shares (each VU's init code runs separately, at its own time). */
export function setup(): SetupData {
  return { runId: __ENV.RUN_ID ?? `k6-${Date.now().toString(36)}` };
}

// One plan per VU: a VU sees increasing iteration numbers, so it moves its plan forward to each one.
let plan: RequestPlan | undefined;

export default function (data: SetupData): void {
  plan ??= new RequestPlan({ profile, batchPrefix: data.runId, seed });
  const request = plan.at(exec.scenario.iterationInTest);
  const spec = toHttp(request, Date.now());
  http.post(`${baseUrl}${spec.path}`, spec.body, {
    headers: spec.headers,
    tags: { name: request.name },
  });
}
