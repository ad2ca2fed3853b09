import { runService } from '@tsp/core';
import { startIngest } from './service';

runService('ingest', startIngest);
