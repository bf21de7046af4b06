import { open } from 'node:fs/promises';
import { ConnectorError } from './connector.js';

/**
 * Hands a new password to the target's secret sink: one line `NAME<TAB>PASSWORD` appended to a file only its owner
 * may read, synced before the caller sets the password, so no password is in force that nobody can learn. The name
 * must hold no tab or line break (callers refuse such names first).
 */
export async function appendSecret(target: string, path: string, name: string, password: string): Promise<void> {
  try {
    const handle = await open(path, 'a', 0o600);
    try {
      await handle.chmod(0o600);
      await handle.appendFile(`${name}\t${password}\n`, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (e) {
    if (e instanceof ConnectorError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw new ConnectorError(target, 'internal', `secret sink ${path} cannot be written (${code})`);
  }
}
