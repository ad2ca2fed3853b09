export { startScreener, type RunningScreener } from './service';
export { parseScreener, type ScreenerPage } from './parse-screener';
