import { failedToStart, serve } from './serve';

serve().catch(failedToStart);
