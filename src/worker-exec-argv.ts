/**
 * Node options for a worker thread started from a file: the parent's, without --input-type. A
 * process started with `node --input-type=module -e ...` passes it on, and a worker given it
 * refuses to start from a file (ERR_INPUT_TYPE_NOT_ALLOWED): at 1M images the copy of the full
 * vectors read in a worker was lost that way in the scale bench's processes.
 */
export function workerExecArgv(): string[] {
  return process.execArgv.filter((argument) => !argument.startsWith('--input-type'));
}
