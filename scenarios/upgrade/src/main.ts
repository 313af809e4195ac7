import { runScenarioMain } from '@chaos-lab/lab';
import { scenario } from './index.js';

process.exit(await runScenarioMain(scenario));
