import { Terminal } from '@xterm/xterm';

/**
 * A guest's serial console in xterm.js over the control plane's WebSocket (nova-serialproxy's
 * protocol: binary frames both ways, the guest's bytes as they come, keystrokes as typed).
 * Returns what closes it.
 */
export function openConsole(container: HTMLElement, url: string, state: (text: string) => void): () => void {
  container.replaceChildren();
  const term = new Terminal({ cols: 100, rows: 24, convertEol: false, scrollback: 2000 });
  term.open(container);
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  state('Connecting…');
  ws.onopen = () => {
    state('Connected: type into the console.');
    term.focus();
  };
  ws.onmessage = (e) => term.write(typeof e.data === 'string' ? e.data : new Uint8Array(e.data as ArrayBuffer));
  ws.onclose = (e) => state(`Disconnected${e.reason ? `: ${e.reason}` : e.code === 1006
    ? ': the console could not be reached (the token may be used or expired; connect again)' : ''}.`);
  const input = term.onData((d) => {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send(encoder.encode(d));
    }
  });
  return () => {
    input.dispose();
    ws.close();
    term.dispose();
  };
}
