import { call, upload } from './api';
import { field, h, replace, table } from './dom';
import { PageContext } from './page';

interface Image {
  id: string;
  name: string;
  status: string;
  disk_format: string;
  size: number | null;
  visibility: string;
  owner: string;
}

function size(bytes: number | null): string {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} B`;
}

export async function imagesPage(ctx: PageContext, root: HTMLElement): Promise<void> {
  const s = ctx.session;
  const list = h('div', {});
  const refresh = async () => {
    const images = (await call<{ images: Image[] }>(s, 'image', 'GET', '/v2/images?limit=200')).images;
    replace(list, table(['Name', 'Status', 'Format', 'Size', 'Visibility', 'Actions'], images.map((i) => [
      i.name, i.status, i.disk_format, size(i.size), i.visibility,
      i.owner === s.projectId || s.roles.includes('admin') ? h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Delete image ${i.name}`,
        onclick: async () => {
          if (!confirm(`Delete image ${i.name}?`)) {
            return;
          }
          ctx.error(null);
          try {
            await call(s, 'image', 'DELETE', `/v2/images/${i.id}`);
            ctx.note(`Image ${i.name} deleted`);
            await refresh();
          } catch (e) {
            ctx.error(e);
          }
        },
      }, 'Delete') : '',
    ]), 'Images this project can use'));
  };
  await refresh();

  const name = h('input', { name: 'name', required: true });
  const format = h('select', { name: 'disk_format' }, ...['raw', 'qcow2', 'iso'].map((f) => h('option', { value: f }, f)));
  const file = h('input', { name: 'file', type: 'file', required: true });
  const bar = h('progress', { max: 100, value: 0, 'aria-label': 'Upload progress' });
  const percent = h('span', { class: 'percent', 'aria-live': 'polite' }, '');
  const submit = h('button', { type: 'submit' }, 'Upload image');
  const form = h('form', {
    'aria-label': 'Upload an image',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      const chosen = file.files?.[0];
      if (!chosen) {
        return;
      }
      ctx.error(null);
      submit.disabled = true;
      try {
        // Glance's two steps: the record, then its data.
        const image = await call<Image>(s, 'image', 'POST', '/v2/images',
          { name: name.value, disk_format: format.value, container_format: 'bare' });
        await upload(s, 'image', `/v2/images/${image.id}/file`, chosen, (sent, total) => {
          const p = total > 0 ? Math.floor((sent * 100) / total) : 100;
          bar.value = p;
          percent.textContent = `${p} %`;
        });
        ctx.note(`Image ${name.value} uploaded`);
        await refresh();
      } catch (err) {
        ctx.error(err);
      } finally {
        submit.disabled = false;
      }
    },
  }, field('Image name', name), field('Disk format', format), field('Image file', file), submit,
  h('div', { class: 'progress' }, bar, percent));
  replace(root, h('details', { class: 'create' }, h('summary', {}, 'Upload an image'), form), list);
}
