/**
 * The load package's errors: a branch of the project's one tree (`@chaos-lab/errors`). The option and plan
 * errors name the field and the value; a failed remote write is retriable.
 */
import { ChaosLabError } from '@chaos-lab/errors';

export class LoadError extends ChaosLabError {}
