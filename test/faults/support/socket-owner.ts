import fs from 'node:fs';

/** A TCP endpoint as /proc/net/tcp writes it: hex IPv4 address (host byte order), ':', hex port. */
function portOf(endpoint: string): number {
  return parseInt(endpoint.split(':')[1], 16);
}

/** The socket inode of the IPv4 connection from clientPort to serverPort (the client's end), or null. */
function clientSocketInode(clientPort: number, serverPort: number): string | null {
  const lines = fs.readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10) continue;
    if (portOf(fields[1]) === clientPort && portOf(fields[2]) === serverPort) return fields[9];
  }
  return null;
}

function holdsSocket(pid: number, inode: string): boolean {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  const target = `socket:[${inode}]`;
  return fds.some((fd) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === target;
    } catch {
      return false;
    }
  });
}

/**
 * Which of `pids` sent a request the destination (listening on serverPort) is holding: the process
 * whose open files include the client end of that connection (Linux /proc). So a test can SIGKILL
 * the replica that has a request in flight, not just any replica. Null when none of them does.
 */
export function senderOf(clientPort: number | undefined, serverPort: number, pids: Array<number | undefined>): number | null {
  if (clientPort === undefined) return null;
  const inode = clientSocketInode(clientPort, serverPort);
  if (inode === null || inode === '0') return null;
  return pids.find((pid): pid is number => pid !== undefined && holdsSocket(pid, inode)) ?? null;
}
