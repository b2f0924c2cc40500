// The public APIs, called with the user's token: policy is the APIs' own, the dashboard only
// shows what they answer (and their messages when they refuse).

/** What an API refused, in its own words. */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export type Service = 'identity' | 'compute' | 'network' | 'image' | 'volume' | 'dashboard';

export interface Session {
  token: string;
  expires: string;
  user: string;
  projectId: string;
  projectName: string;
  roles: string[];
  /** Each service's root URL from the token's catalog. */
  endpoints: Partial<Record<Service, string>>;
}

/** A request that gets no answer in this time fails with a message rather than hanging. */
const TIMEOUT_MS = 30_000;
const STORAGE_KEY = 'stratus.session';

export function isAdmin(s: Session): boolean {
  return s.roles.includes('admin');
}

export function savedSession(): Session | null {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (!raw) {
    return null;
  }
  const s = JSON.parse(raw) as Session;
  return Date.parse(s.expires) > Date.now() ? s : null;
}

export function forget(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

/** Logs in with a password, scoped to a project (Keystone v3). */
export async function login(user: string, password: string, project: string): Promise<Session> {
  const body = {
    auth: {
      identity: { methods: ['password'], password: { user: { name: user, domain: { id: 'default' }, password } } },
      scope: { project: { name: project, domain: { id: 'default' } } },
    },
  };
  const reply = await send('identity', 'POST', '/identity/v3/auth/tokens', JSON.stringify(body),
    { 'Content-Type': 'application/json' });
  const token = reply.headers.get('X-Subject-Token');
  if (!token) {
    throw new ApiError(reply.status, 'the Identity API answered without a token');
  }
  const t = (await reply.json()).token;
  const endpoints: Partial<Record<Service, string>> = {};
  for (const entry of t.catalog ?? []) {
    const pub = (entry.endpoints ?? []).find((e: { interface: string }) => e.interface === 'public')
      ?? entry.endpoints?.[0];
    if (pub && ['compute', 'network', 'image', 'identity'].includes(entry.type)) {
      endpoints[entry.type as Service] = pub.url.replace(/\/+$/, '');
    } else if (pub && ['volumev3', 'block-storage'].includes(entry.type)) {
      // Cinder v3 under either of its catalog names (Stratus lists both).
      endpoints.volume = pub.url.replace(/\/+$/, '');
    }
  }
  const s: Session = {
    token,
    expires: t.expires_at,
    user: t.user?.name ?? user,
    projectId: t.project?.id ?? '',
    projectName: t.project?.name ?? project,
    roles: (t.roles ?? []).map((r: { name: string }) => r.name),
    endpoints,
  };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  return s;
}

/**
 * A service's root for this page. The scheduler serves the app and the Identity, Compute,
 * Network and Block Storage APIs: those are called by path, on this page's origin, whatever host name the catalog
 * uses. The image service is another origin (it allows this one by CORS).
 */
export function root(s: Session | null, service: Service): string {
  const url = s?.endpoints[service];
  if (service === 'image') {
    if (!url) {
      throw new ApiError(0, 'the service catalog names no image service');
    }
    return url;
  }
  if (service === 'dashboard') {
    // The dashboard's own settings, beside its files.
    return '/dashboard';
  }
  if (!url) {
    if (service === 'volume') {
      throw new ApiError(0, 'the service catalog names no block storage (volumev3) service');
    }
    return service === 'identity' ? '' : `/${service}`;
  }
  return new URL(url, location.href).pathname.replace(/\/+$/, '');
}

async function send(service: Service, method: string, url: string, body?: BodyInit,
  headers: Record<string, string> = {}): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  let reply: Response;
  try {
    reply = await fetch(url, { method, body, headers, signal: abort.signal });
  } catch (e) {
    throw new ApiError(0, abort.signal.aborted
      ? `the ${service} API did not answer ${method} ${url} within ${TIMEOUT_MS / 1000} s`
      : `the ${service} API cannot be reached (${method} ${url}): ${(e as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  if (!reply.ok) {
    throw new ApiError(reply.status, await message(reply));
  }
  return reply;
}

/** The message of an OpenStack error body, whichever service's shape it has. */
async function message(reply: Response): Promise<string> {
  const text = await reply.text();
  try {
    const body = JSON.parse(text);
    for (const v of Object.values(body)) {
      if (v && typeof v === 'object' && 'message' in v) {
        return String((v as { message: unknown }).message);
      }
    }
    if (typeof body.message === 'string') {
      return body.message;
    }
  } catch {
    // Not JSON: the text is the message.
  }
  return text.trim() || `${reply.status} ${reply.statusText}`;
}

/** Calls a service with the session's token; resolves to the JSON body (undefined when empty). */
export async function call<T = any>(s: Session, service: Service, method: string, path: string, body?: unknown,
  headers: Record<string, string> = {}): Promise<T> {
  const all: Record<string, string> = { 'X-Auth-Token': s.token, Accept: 'application/json', ...headers };
  let payload: BodyInit | undefined;
  if (body !== undefined) {
    all['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const reply = await send(service, method, root(s, service) + path, payload, all);
  const text = await reply.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Sends a file with its progress reported (fetch cannot report an upload's progress; XHR can).
 */
export function upload(s: Session, service: Service, path: string, file: Blob,
  progress: (sent: number, total: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', root(s, service) + path);
    xhr.setRequestHeader('X-Auth-Token', s.token);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => progress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        progress(file.size, file.size);
        resolve();
      } else {
        reject(new ApiError(xhr.status, xhr.responseText.trim() || `upload failed: ${xhr.status}`));
      }
    };
    xhr.onerror = () => reject(new ApiError(0, `the ${service} API cannot be reached for the upload`));
    xhr.send(file);
  });
}
