// Small improvements for browsers with script; every page works the same without it.
//
// - Lists marked `data-reorder` (stages, rating criteria) can be reordered by dragging an
//   entry's grip: dropping it on another entry submits the entry's own form with that position,
//   the same request its position field and its move-up/move-down buttons make.
// - Buttons marked `data-copy="<element id>"` copy that element's text (an invitation link, a
//   new token) and say so in the status region named by `data-copied`.
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
