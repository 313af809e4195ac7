export {
  runLoad,
  resolveProfile,
  loadCharts,
  PROFILES_DIR,
  type LoadRunOptions,
  type LoadRunResult,
} from './run-load.js';
