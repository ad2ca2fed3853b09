import { runService } from '@tsp/core';
import { startApprover } from './service';

runService('approver', startApprover);
