import { runService } from '@tsp/core';
import { startForwarder } from './service';

runService('forwarder', startForwarder);
