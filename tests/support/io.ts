/** The CLI's input and output for a test: what the command prints is kept in `out` and `err`. */
import type { Io } from '#cli/main';

export type CapturedIo = Io & { out: string; err: string };

/** No standard input; `env` empty and `cwd` this process's unless given. */
export function io(o: Partial<Pick<Io, 'env' | 'cwd' | 'readStdin'>> = {}): CapturedIo {
  const c: CapturedIo = {
    out: '',
    err: '',
    stdout: (s) => void (c.out += s),
    stderr: (s) => void (c.err += s),
    readStdin: async () => '',
    env: {},
    cwd: process.cwd(),
    ...o,
  };
  return c;
}
