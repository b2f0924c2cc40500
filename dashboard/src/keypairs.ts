import { call } from './api';
import { field, h, replace, table } from './dom';
import { PageContext } from './page';

export async function keypairsPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const list = h('div', {});
  const secret = h('div', {});
  const refresh = async () => {
    const keys = (await call(s, 'compute', 'GET', '/os-keypairs')).keypairs
      .map((k: { keypair: { name: string; fingerprint: string } }) => k.keypair) as { name: string; fingerprint: string }[];
    replace(list, keys.length === 0 ? h('p', {}, 'No key pairs.') : table(['Name', 'Fingerprint', 'Actions'],
      keys.map((k) => [k.name, h('code', {}, k.fingerprint), h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Delete key pair ${k.name}`,
        onclick: async () => {
          ctx.error(null);
          try {
            await call(s, 'compute', 'DELETE', `/os-keypairs/${encodeURIComponent(k.name)}`);
            await refresh();
          } catch (e) {
            ctx.error(e);
          }
        },
      }, 'Delete')]), 'Your key pairs'));
  };
  await refresh();
  const name = h('input', { name: 'name', required: true });
  const publicKey = h('textarea', { name: 'public_key', rows: 3, placeholder: 'ssh-ed25519 AAAA… (empty: generate one)' });
  const form = h('form', {
    'aria-label': 'Create a key pair',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      ctx.error(null);
      try {
        const keypair: Record<string, string> = { name: name.value };
        if (publicKey.value.trim()) {
          keypair.public_key = publicKey.value.trim();
        }
        const r = await call(s, 'compute', 'POST', '/os-keypairs', { keypair });
        // A generated private key is shown once: the API keeps only the public half.
        replace(secret, r.keypair.private_key ? h('div', { class: 'secret' },
          h('p', {}, 'The private key, shown only now: save it.'),
          h('textarea', { readonly: true, rows: 8, 'aria-label': 'Private key', value: r.keypair.private_key })) : null);
        form.reset();
        await refresh();
      } catch (err) {
        ctx.error(err);
      }
    },
  }, field('Key pair name', name), field('Public key', publicKey), h('button', { type: 'submit' }, 'Create key pair'));
  replace(root, h('details', { class: 'create' }, h('summary', {}, 'Create a key pair'), form), secret, list);
}
