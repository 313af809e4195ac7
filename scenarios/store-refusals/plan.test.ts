import { describePlanDeterminism } from '@chaos-lab/lab/testing';
import { scenario } from './index.js';

describePlanDeterminism(scenario);
