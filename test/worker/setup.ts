import { installConsoleCapture, installProductionLimits } from './limits.ts';

installProductionLimits();
installConsoleCapture();
