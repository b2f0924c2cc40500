import { login, Session } from './api';
import { field, h } from './dom';
import { describe } from './page';

/** The login form: user, password and the project to work in. */
export function loginPage(done: (s: Session) => void): HTMLElement {
  const user = h('input', { name: 'user', autocomplete: 'username', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const project = h('input', { name: 'project', required: true });
  const alert = h('div', { role: 'alert', class: 'alert', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', {
    'aria-label': 'Log in',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      submit.disabled = true;
      alert.hidden = true;
      try {
        done(await login(user.value, password.value, project.value));
      } catch (err) {
        alert.hidden = false;
        alert.textContent = describe(err);
      } finally {
        submit.disabled = false;
      }
    },
  }, field('User', user), field('Password', password), field('Project', project), submit);
  return h('main', { class: 'login' }, h('h1', {}, 'Stratus'), alert, form);
}
