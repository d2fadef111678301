/** A command of `lockstep`: its usage (in `lockstep --help`) and how it runs. */
export interface Command {
  usage: string;
  /** What `lockstep CMD --help` adds to the usage. */
  more?: string;
  run(argv: string[]): Promise<{ code: number }> | { code: number };
}
