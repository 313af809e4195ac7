import { describeChaosSuite } from '@chaos-lab/lab/testing';
import { scenario } from './index.js';

describeChaosSuite(scenario);
