import { runService } from '@tsp/core';
import { startScreener } from './service';

runService('screener', startScreener);
