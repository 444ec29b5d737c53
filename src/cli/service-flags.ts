import { Flags } from '@oclif/core';
import { serviceNames } from '../config/schema.js';

/** `--services postgres,redis`: the subset of the stack a command acts on. */
export const servicesFlag = Flags.option({
  options: serviceNames,
  multiple: true,
  delimiter: ',',
  char: 's',
})({ summary: 'Only these services (comma-separated). Default: the whole stack.' });
