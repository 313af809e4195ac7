import { describePlanDeterminism } from '@chaos-lab/lab/testing';
import { scenario } from './index.js';

// The docker provider's one real broker can be stopped, but brokers 2 and 3 do not exist, leadership has nowhere to
// move and a real broker cannot be told to answer with errors: this suite needs the local provider's mock cluster.
describePlanDeterminism(scenario, { notOnDocker: ['broker-down', 'leader-move', 'request-errors'] });
