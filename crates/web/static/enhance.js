// Small improvements for browsers with script; every page works the same without it.
//
// - Lists marked `data-reorder` (stages, rating criteria) can be reordered by dragging an
//   entry's grip: dropping it on another entry submits the entry's own form with that position,
//   the same request its position field and its move-up/move-down buttons make.
// - Buttons marked `data-copy="<element id>"` copy that element's text (an invitation link, a
//   new token) and say so in the status region named by `data-copied`.
// - Text areas marked `data-mention="<url>"` suggest members as one types `@` and the start of
//   a name: ↓/↑ choose, Enter or Tab puts the name in, Escape closes. Typing the whole name
//   mentions just the same without script.
// - On a board (`.board[data-move]`), moderators drag an idea's card into another column: the
//   card's own stage form (a select and a Move button, the way by keyboard and without script)
//   is sent with that column's stage, and htmx swaps the board in place. A refused move says
//   why above the board (`#board-problem`) and puts the card's select back.
// - "/" anywhere but in a field puts the cursor in the search box (the page's own on the search
//   page, the workspace bar's elsewhere), as `aria-keyshortcuts` announces.
// - The browser's time zone is kept in a cookie `tz`, so pages show times in it (a zone chosen
//   in the account wins; without script, the instance's default zone applies). It takes effect
//   from the next page: reloading this one could send a form again.
(() => {
  try {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    const kept = document.cookie.split('; ').find((c) => c.startsWith('tz='));
    const now = kept ? decodeURIComponent(kept.slice(3)) : null;
    if (zone && zone !== now && /^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) {
      const secure = location.protocol === 'https:' ? '; Secure' : '';
      document.cookie = `tz=${encodeURIComponent(zone)}; Path=/; Max-Age=31536000; SameSite=Lax${secure}`;
    }
  } catch (_) {
    // No Intl or no cookies: times stay in the default zone.
  }
})();
(() => {
  for (const list of document.querySelectorAll('ol[data-reorder]')) {
    let dragged = null;
    for (const item of list.querySelectorAll(':scope > li')) {
      const grip = item.querySelector('.grip');
      const position = item.querySelector('input[name=position]');
      if (!grip || !position) continue;
      grip.hidden = false;
      grip.draggable = true;
      grip.addEventListener('dragstart', (e) => {
        dragged = item;
        item.classList.add('dragging');
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', position.value);
      });
      grip.addEventListener('dragend', () => {
        item.classList.remove('dragging');
        dragged = null;
      });
      item.addEventListener('dragover', (e) => {
        if (dragged && dragged !== item) e.preventDefault();
      });
      item.addEventListener('drop', (e) => {
        e.preventDefault();
        if (!dragged || dragged === item) return;
        const target = [...list.querySelectorAll(':scope > li')].indexOf(item);
        const input = dragged.querySelector('input[name=position]');
        input.value = String(target + 1);
        input.form.requestSubmit();
      });
    }
  }

  let lists = 0;
  const mentionable = (area) => {
    if (area.dataset.mentionReady) return;
    area.dataset.mentionReady = '1';
    const list = document.createElement('ul');
    list.className = 'suggestions';
    list.id = `mention-list-${(lists += 1)}`;
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', area.dataset.mentionLabel || 'Members');
    list.hidden = true;
    area.after(list);
    area.setAttribute('aria-autocomplete', 'list');
    area.setAttribute('aria-controls', list.id);
    let start = -1;
    let active = -1;
    let timer = null;
    let asked = '';
    const close = () => {
      list.hidden = true;
      list.replaceChildren();
      active = -1;
      area.removeAttribute('aria-activedescendant');
    };
    const pick = (name) => {
      const caret = area.selectionStart;
      area.value = `${area.value.slice(0, start)}@${name} ${area.value.slice(caret)}`;
      const at = start + name.length + 2;
      area.setSelectionRange(at, at);
      close();
      area.focus();
    };
    const mark = (i) => {
      [...list.children].forEach((li, j) => li.setAttribute('aria-selected', String(j === i)));
      active = i;
      if (list.children[i]) area.setAttribute('aria-activedescendant', list.children[i].id);
    };
    area.addEventListener('input', () => {
      const before = area.value.slice(0, area.selectionStart);
      const typed = /(^|[^\p{L}\p{N}_])@([\p{L}\p{N}][\p{L}\p{N}'’ .-]{0,40})$/u.exec(before);
      clearTimeout(timer);
      if (!typed) {
        close();
        return;
      }
      const q = typed[2];
      start = before.length - q.length - 1;
      timer = setTimeout(async () => {
        asked = q;
        const r = await fetch(`${area.dataset.mention}?q=${encodeURIComponent(q)}`, { credentials: 'same-origin' }).catch(() => null);
        if (!r || !r.ok || asked !== q) return;
        const people = await r.json().catch(() => []);
        list.replaceChildren(...people.map((p, i) => {
          const li = document.createElement('li');
          li.id = `${list.id}-${i}`;
          li.setAttribute('role', 'option');
          li.textContent = p.name;
          li.addEventListener('mousedown', (e) => {
            e.preventDefault();
            pick(p.name);
          });
          return li;
        }));
        if (people.length) {
          list.hidden = false;
          mark(0);
        } else {
          close();
        }
      }, 150);
    });
    area.addEventListener('keydown', (e) => {
      if (list.hidden || !list.children.length) return;
      const n = list.children.length;
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        mark((active + 1) % n);
      } else if (e.key === 'ArrowUp') {
        e.preventDefault();
        mark((active - 1 + n) % n);
      } else if ((e.key === 'Enter' || e.key === 'Tab') && active >= 0) {
        e.preventDefault();
        pick(list.children[active].textContent);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        close();
      }
    });
    area.addEventListener('blur', () => setTimeout(close, 200));
  };
  const findMentionable = (root) => root.querySelectorAll('textarea[data-mention]').forEach(mentionable);
  findMentionable(document);
  // The conversation is replaced in place after each comment: its new forms get the same.
  document.body.addEventListener('htmx:load', (e) => findMentionable(e.detail.elt));

  for (const button of document.querySelectorAll('button[data-copy]')) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copied || '');
    if (!source || !navigator.clipboard) continue;
    button.hidden = false;
    button.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        if (status) status.textContent = button.dataset.done || '';
      } catch {
        if (status) status.textContent = button.dataset.failed || '';
      }
    });
  }
})();

(() => {
  const boards = (root) => {
    const found = root.matches && root.matches('.board[data-move]') ? [root] : [];
    return found.concat([...root.querySelectorAll('.board[data-move]')]);
  };
  const enable = (board) => {
    // Once per board: htmx also announces the page it started on (htmx:load on the body), and a
    // second set of handlers would send every drop twice.
    if (board.dataset.dragReady) return;
    board.dataset.dragReady = 'yes';
    let dragged = null;
    for (const card of board.querySelectorAll('li[data-idea]')) {
      card.draggable = true;
      card.addEventListener('dragstart', (e) => {
        dragged = card;
        card.classList.add('dragging');
        e.dataTransfer.effectAllowed = 'move';
        e.dataTransfer.setData('text/plain', card.dataset.idea);
      });
      card.addEventListener('dragend', () => {
        card.classList.remove('dragging');
        dragged = null;
      });
    }
    for (const column of board.querySelectorAll('.column[data-stage]')) {
      column.addEventListener('dragover', (e) => {
        if (!dragged || dragged.closest('.column') === column) return;
        e.preventDefault();
        column.classList.add('drop-target');
      });
      column.addEventListener('dragleave', (e) => {
        if (!column.contains(e.relatedTarget)) column.classList.remove('drop-target');
      });
      column.addEventListener('drop', (e) => {
        e.preventDefault();
        column.classList.remove('drop-target');
        const select = dragged && dragged.querySelector('select[name=stage]');
        if (!select) return;
        select.value = column.dataset.stage;
        select.form.requestSubmit();
      });
    }
  };
  for (const b of boards(document)) enable(b);
  // A refused move leaves the board as it was: the card's select goes back to its own stage and
  // the line above the board says why, in the server's words where it gave some.
  const problem = document.getElementById('board-problem');
  const moveForm = (e) => e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('.board form.move');
  const refused = (form, text) => {
    form.reset();
    // Emptied first and filled on the next frame, so that the same reason twice is said twice.
    problem.textContent = '';
    problem.hidden = false;
    requestAnimationFrame(() => {
      problem.textContent = text;
    });
  };
  document.body.addEventListener('htmx:load', (e) => {
    const found = boards(e.detail.elt);
    for (const b of found) enable(b);
    if (found.length && problem && e.detail.elt !== document.body) {
      problem.hidden = true;
      problem.textContent = '';
    }
  });
  document.body.addEventListener('htmx:responseError', (e) => {
    const form = moveForm(e);
    // Only the move's own answer is a refusal: when the move went through and the board it
    // leads back to failed to load, the idea did move.
    if (!form || !problem || !new URL(e.detail.xhr.responseURL, location.href).pathname.endsWith('/stage')) return;
    let why = '';
    try {
      const answer = new DOMParser().parseFromString(e.detail.xhr.responseText, 'text/html');
      const said = answer.querySelector('main [role=alert]') || answer.querySelector('main p');
      why = said ? said.textContent.trim() : '';
    } catch {
      why = '';
    }
    refused(form, `${problem.dataset.failed} ${why}`.trim());
  });
  document.body.addEventListener('htmx:sendError', (e) => {
    const form = moveForm(e);
    if (form && problem) refused(form, problem.dataset.offline);
  });
})();

(() => {
  document.addEventListener('keydown', (e) => {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    if (t instanceof HTMLElement && (t.isContentEditable || t.closest('input, textarea, select'))) return;
    const box = document.getElementById('s-q') || document.getElementById('ws-search');
    if (!box) return;
    e.preventDefault();
    if (box.offsetParent === null && box.form) {
      // Folded away (on a phone): the search page, whose field takes the focus.
      location.assign(box.form.action);
      return;
    }
    box.focus();
    box.select();
  });
})();
